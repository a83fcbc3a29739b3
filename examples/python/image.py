"""An image through GraphQL (polling the job) or the REST media API; saves it and prints its path.

    ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> python3 examples/python/image.py [graphql|rest] [out dir]
"""
from atelier_example import args, graphql, post, save, wait

FACE, OUT = args("graphql", ".")
PROMPT = "a lighthouse at dusk, oil painting"

if FACE == "graphql":
    job = graphql("mutation($input: GenerateImageInput!) { generateImage(input: $input) { id } }",
                  input={"prompt": PROMPT, "width": 512, "height": 512, "steps": 30})["generateImage"]
    job = wait(job["id"])
    save(job["assets"][0]["url"], OUT, job["id"] + ".png")
else:
    # The media API answers once the image is made.
    task = post("/generate/image", {"prompt": PROMPT, "width": 512, "height": 512, "num_inference_steps": 30})
    save(task["image_urls"][0], OUT, task["task_id"] + ".png")
