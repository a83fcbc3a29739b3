"""Speech through GraphQL (polling the job) or the REST media API; saves the WAV and prints its path.

    ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> python3 examples/python/speech.py [graphql|rest] [out dir]
"""
import json, os, sys, time, urllib.request

URL = os.environ.get("ATELIER_URL", "http://127.0.0.1:4000")
TOKEN = os.environ["ATELIER_TOKEN"]
FACE, OUT = (sys.argv[1:] + ["graphql", "."][len(sys.argv) - 1:])[:2]
PROMPT = "Hello, and welcome to Atelier."


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
    job = graphql("mutation($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { id } }",
                  input={"text": PROMPT, "voiceId": "en_us_female"})["synthesizeSpeech"]
    while True:
        job = graphql("query($id: ID!) { job(id: $id) { id status progress error { message } assets { url } } }", id=job["id"])["job"]
        print(job["status"], job["progress"], "%", file=sys.stderr)
        if job["status"] not in ("QUEUED", "PROCESSING"):
            break
        time.sleep(0.5)
    if job["status"] != "COMPLETED":
        sys.exit("job %s: %s" % (job["status"], job["error"]))
    save(job["assets"][0]["url"], job["id"] + ".wav")
else:
    task = post("/synthesize/speech", {"text": PROMPT, "voice_id": "en_us_female", "speed": 1.0})
    save(task["audio_url"], task["task_id"] + ".wav")
