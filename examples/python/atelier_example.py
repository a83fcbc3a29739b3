"""What the Python examples share: the server's address and token, JSON and multipart calls, a GraphQL call,
an upload, waiting for a job, saving a result. Standard library only."""
import json, os, sys, time, urllib.request, uuid

URL = os.environ.get("ATELIER_URL", "http://127.0.0.1:4000")
TOKEN = os.environ["ATELIER_TOKEN"]
AUTH = {"Authorization": "Bearer " + TOKEN}


def args(*defaults):
    """The command line's arguments, the missing ones taken from `defaults` (face first, then out dir, ...)."""
    given = sys.argv[1:]
    return (given + list(defaults)[len(given):])[:len(defaults)]


def call(path, body=None, headers=None, method=None):
    request = urllib.request.Request(URL + path, body, {**AUTH, **(headers or {})}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.read()


def post(path, body):
    return json.loads(call(path, json.dumps(body).encode(), {"Content-Type": "application/json"}))


def graphql(query, **variables):
    answer = post("/graphql", {"query": query, "variables": variables})
    if answer.get("errors"):
        sys.exit("error: " + answer["errors"][0]["message"])
    return answer["data"]


def multipart(fields, files):
    """fields: {name: text}; files: {name: path}. Returns (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, name, value)).encode())
    for name, path in files.items():
        with open(path, "rb") as file:
            head = '--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n\r\n' % (boundary, name, os.path.basename(path))
            parts.append(head.encode() + file.read() + b"\r\n")
    return b"".join(parts) + ("--%s--\r\n" % boundary).encode(), "multipart/form-data; boundary=" + boundary


def upload(path):
    # The GraphQL multipart request spec: the operation, a map, then the file.
    operations = json.dumps({"query": "mutation($file: File!) { uploadAsset(file: $file) { id } }", "variables": {"file": None}})
    body, kind = multipart({"operations": operations, "map": json.dumps({"0": ["variables.file"]})}, {"0": path})
    answer = json.loads(call("/graphql", body, {"Content-Type": kind}))
    if answer.get("errors"):
        sys.exit("error: " + answer["errors"][0]["message"])
    return answer["data"]["uploadAsset"]["id"]


def wait(job_id):
    """Polls a job until it ends; exits with its error unless it completed."""
    while True:
        job = graphql("query($id: ID!) { job(id: $id) { id status progress error { message } assets { url } } }", id=job_id)["job"]
        print(job["status"], job["progress"], "%", file=sys.stderr)
        if job["status"] not in ("QUEUED", "PROCESSING"):
            break
        time.sleep(0.5)
    if job["status"] != "COMPLETED":
        sys.exit("job %s: %s" % (job["status"], job["error"]))
    return job


def write(data, out, name):
    path = os.path.join(out, name)
    with open(path, "wb") as file:
        file.write(data)
    print(path)


def save(url, out, name):
    # Result URLs are signed: they open without a header.
    with urllib.request.urlopen(url) as response:
        write(response.read(), out, name)
