"""The fleet endpoint as an application team sees it: the official OpenAI SDK over HTTPS with a client key.

Prints one JSON object: what a valid key gets (models, a multimodal answer, a stream), what each named client's
key gets, what no key and a wrong key get, and what the router's control routes answer from outside. Keys are
read from a JSON file ({name: key}) and never printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import httpx
import openai


def status_of(call) -> int:
    try:
        call()
    except openai.APIStatusError as exc:
        return exc.status_code
    return 200


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="https://gateway:port")
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--keys", required=True, help="JSON file {client name: key}")
    parser.add_argument("--client", required=True, help="the client whose key does the full check")
    parser.add_argument("--image", required=True)
    args = parser.parse_args()
    keys = json.loads(Path(args.keys).read_text())
    http = httpx.Client(verify=args.ca_file, timeout=60)

    def sdk(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{args.url}/v1", api_key=key, http_client=http, max_retries=0)

    client = sdk(keys[args.client])
    models = [model.id for model in client.models.list()]
    image = base64.b64encode(Path(args.image).read_bytes()).decode()
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
        {"type": "text", "text": "What is in this image?"}]}]
    answer = client.chat.completions.create(model=models[0], messages=messages, max_tokens=16)
    chunks = [chunk for chunk in client.chat.completions.create(model=models[0], messages=messages, max_tokens=8,
                                                                 stream=True)]
    streamed = "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)
    result = {
        "models": models,
        "answer": answer.choices[0].message.content,
        "stream_chunks": len(chunks),
        "streamed_text": streamed,
        "clients": {name: status_of(lambda key=key: sdk(key).models.list()) for name, key in sorted(keys.items())},
        "no_key": http.get(f"{args.url}/v1/models").status_code,
        "wrong_key": status_of(lambda: sdk("x" * 64).models.list()),
        "health": http.get(f"{args.url}/health").status_code,
        "control": {
            "remove_worker": http.post(f"{args.url}/remove_worker", params={"url": "http://10.231.0.11:8000"},
                                       headers={"Authorization": f"Bearer {keys[args.client]}"}).status_code,
            "list_workers": http.get(f"{args.url}/list_workers",
                                     headers={"Authorization": f"Bearer {keys[args.client]}"}).status_code,
            "add_worker": http.post(f"{args.url}/add_worker", params={"url": "http://10.231.0.99:8000"}).status_code,
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
