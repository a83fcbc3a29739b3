"""A talking head from a portrait and a voice recording, through GraphQL (multipart uploads, then polling the job) or
the REST talking-head API (a multipart task, then polling); saves the MP4 and prints its path.

    ATELIER_URL=… ATELIER_TOKEN=… python3 examples/python/talking_head.py [graphql|rest] [out dir] portrait.png voice.wav
"""
import json, sys, time
from atelier_example import args, call, graphql, multipart, save, upload, wait, write

FACE, OUT, PORTRAIT, VOICE = args("graphql", ".", "portrait.png", "voice.wav")

if FACE == "graphql":
    job = graphql("mutation($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { id } }",
                  input={"imageAssetId": upload(PORTRAIT), "audioAssetId": upload(VOICE)})["generateTalkingHead"]
    job = wait(job["id"])
    save(job["assets"][0]["url"], OUT, job["id"] + ".mp4")
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
    write(call("/api/v1/tasks/%s/video" % task_id), OUT, task_id + ".mp4")
