"""A short video through GraphQL (polling the job) or the REST media API; saves the MP4 and prints its path.

    ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> python3 examples/python/video.py [graphql|rest] [out dir]
"""
from atelier_example import args, graphql, post, save, wait

FACE, OUT = args("graphql", ".")
PROMPT = "a paper boat drifting on a pond"

if FACE == "graphql":
    job = graphql("mutation($input: GenerateVideoInput!) { generateVideo(input: $input) { id } }",
                  input={"prompt": PROMPT, "numFrames": 24, "fps": 12, "videoConfig": {"resolution": "256x256"}})["generateVideo"]
    job = wait(job["id"])
    save(job["assets"][0]["url"], OUT, job["id"] + ".mp4")
else:
    task = post("/generate/video", {"prompt": PROMPT, "num_frames": 24, "fps": 12})
    save(task["video_url"], OUT, task["task_id"] + ".mp4")
