"""A talking head from a portrait and a voice recording, through GraphQL (multipart uploads, then polling the job) or
the REST talking-head API (a multipart task, then polling); saves the MP4 and prints its path.

    ATELIER_URL=… ATELIER_TOKEN=… python3 examples/python/talking_head.py [graphql|rest] [out dir] portrait.png voice.wav
"""
import json, os, sys, time, urllib.request, uuid

URL = os.environ.get("ATELIER_URL", "http://127.0.0.1:4000")
TOKEN = os.environ["ATELIER_TOKEN"]
FACE, OUT, PORTRAIT, VOICE = (sys.argv[1:] + ["graphql", ".", "portrait.png", "voice.wav"][len(sys.argv) - 1:])[:4]
AUTH = {"Authorization": "Bearer " + TOKEN}


def call(path, body=None, headers=None, method=None):
    request = urllib.request.Request(URL + path, body, {**AUTH, **(headers or {})}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.read()


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


def graphql(query, **variables):
    answer = json.loads(call("/graphql", json.dumps({"query": query, "variables": variables}).encode(), {"Content-Type": "application/json"}))
    if answer.get("errors"):
        sys.exit("error: " + answer["errors"][0]["message"])
    return answer["data"]


def upload(path):
    # The GraphQL multipart request spec: the operation, a map, then the file.
    operations = json.dumps({"query": "mutation($file: File!) { uploadAsset(file: $file) { id } }", "variables": {"file": None}})
    body, kind = multipart({"operations": operations, "map": json.dumps({"0": ["variables.file"]})}, {"0": path})
    answer = json.loads(call("/graphql", body, {"Content-Type": kind}))
    if answer.get("errors"):
        sys.exit("error: " + answer["errors"][0]["message"])
    return answer["data"]["uploadAsset"]["id"]


def write(data, name):
    path = os.path.join(OUT, name)
    with open(path, "wb") as file:
        file.write(data)
    print(path)


if FACE == "graphql":
    job = graphql("mutation($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { id } }",
                  input={"imageAssetId": upload(PORTRAIT), "audioAssetId": upload(VOICE)})["generateTalkingHead"]
    while True:
        job = graphql("query($id: ID!) { job(id: $id) { id status progress error { message } assets { url } } }", id=job["id"])["job"]
        print(job["status"], job["progress"], "%", file=sys.stderr)
        if job["status"] not in ("QUEUED", "PROCESSING"):
            break
        time.sleep(0.5)
    if job["status"] != "COMPLETED":
        sys.exit("job %s: %s" % (job["status"], job["error"]))
    with urllib.request.urlopen(job["assets"][0]["url"]) as response:  # signed: no header needed
        write(response.read(), job["id"] + ".mp4")
else:
    body, kind = multipart({}, {"image_file": PORTRAIT, "audio_file": VOICE})
    task_id = json.loads(call("/api/v1/inference/hallo2", body, {"Content-Type": kind}))["task_id"]
    while True:
        task = json.loads(call("/api/v1/tasks/" + task_id))
        print(task["status"], task["progress"], "%", file=sys.stderr)
        if task["status"] not in ("queued", "processing"):
            break
        time.sleep(0.5)
    if task["status"] != "completed":
        sys.exit("task %s: %s" % (task["status"], task.get("error")))
    write(call("/api/v1/tasks/%s/video" % task_id), task_id + ".mp4")
