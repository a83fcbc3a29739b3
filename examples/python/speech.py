"""Speech through GraphQL (polling the job) or the REST media API; saves the WAV and prints its path.

    ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> python3 examples/python/speech.py [graphql|rest] [out dir]
"""
from atelier_example import args, graphql, post, save, wait

FACE, OUT = args("graphql", ".")
PROMPT = "Hello, and welcome to Atelier."

if FACE == "graphql":
    job = graphql("mutation($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { id } }",
                  input={"text": PROMPT, "voiceId": "en_us_female"})["synthesizeSpeech"]
    job = wait(job["id"])
    save(job["assets"][0]["url"], OUT, job["id"] + ".wav")
else:
    task = post("/synthesize/speech", {"text": PROMPT, "voice_id": "en_us_female", "speed": 1.0})
    save(task["audio_url"], OUT, task["task_id"] + ".wav")
