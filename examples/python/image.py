"""An image through GraphQL (polling the job) or the REST media API; saves it and prints its path.

    ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> python3 examples/python/image.py [graphql|rest] [out dir]
"""
import json, os, sys, time, urllib.request

URL = os.environ.get("ATELIER_URL", "http://127.0.0.1:4000")
TOKEN = os.environ["ATELIER_TOKEN"]
FACE, OUT = (sys.argv[1:] + ["graphql", "."][len(sys.argv) - 1:])[:2]
PROMPT = "a lighthouse at dusk, oil painting"


def post(path, body):
    request = urllib.request.Request(URL + path, json.dumps(body).encode(), {"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def graphql(query, **variables):
    answer = post("/graphql", {"query": query, "variables": variables})
    if answer.get("errors"):
        sys.exit("error: " + answer["errors"][0]["message"])
    return answer["data"]


def save(url, name):
    # Result URLs are signed: they open without a header.
    path = os.path.join(OUT, name)
    with urllib.request.urlopen(url) as response, open(path, "wb") as file:
        file.write(response.read())
    print(path)


if FACE == "graphql":
    job = graphql("mutation($input: GenerateImageInput!) { generateImage(input: $input) { id } }",
                  input={"prompt": PROMPT, "width": 512, "height": 512, "steps": 30})["generateImage"]
    while True:
        job = graphql("query($id: ID!) { job(id: $id) { id status progress error { message } assets { url } } }", id=job["id"])["job"]
        print(job["status"], job["progress"], "%", file=sys.stderr)
        if job["status"] not in ("QUEUED", "PROCESSING"):
            break
        time.sleep(0.5)
    if job["status"] != "COMPLETED":
        sys.exit("job %s: %s" % (job["status"], job["error"]))
    save(job["assets"][0]["url"], job["id"] + ".png")
else:
    # The media API answers once the image is made.
    task = post("/generate/image", {"prompt": PROMPT, "width": 512, "height": 512, "num_inference_steps": 30})
    save(task["image_urls"][0], task["task_id"] + ".png")
