"""What the POST /api/save-lead tests share (SPEC §5.2): the URL, the brain's origin, a
transcript, a post."""

URL = "/api/save-lead"
ORIGIN = "https://acme.example"


def chat(*pairs):
    return [{"role": role, "content": content} for role, content in pairs]


def post(client, body, **extra):
    return client.post(URL, body, content_type="application/json", **extra)
