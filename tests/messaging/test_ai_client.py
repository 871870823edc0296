"""The model's client (messaging/ai/client.py): one per process, built at boot, never shared across a fork."""

import os

from messaging import ai
from messaging.ai import client as model_client
from tests.leadhub.test_boot import gunicorn_config


def test_client_warm_builds_the_client_the_model_calls_then_use(model_api):
    ai.client_warm()
    built = model_client._client()

    answer = ai.reply(message="When do you open?", history=[], documents=[])

    assert model_client._client() is built
    assert answer.source == "model"
    assert len(model_api.calls) == 1


def test_client_warm_builds_nothing_without_a_key(settings):
    settings.ANTHROPIC_API_KEY = ""
    model_client._clients.clear()

    ai.client_warm()

    assert model_client._clients == {}


def _in_a_fork(child) -> bytes:
    """What `child()` answers in a forked copy of this process (which leaves at once)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, child())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    return answer


def test_a_forked_process_builds_its_own_client(model_api):
    parent = model_client._client()

    answer = _in_a_fork(lambda: b"own" if model_client._client() is not parent else b"shared")

    assert answer == b"own"
    assert model_client._client() is parent


def test_each_gunicorn_worker_builds_its_client_as_it_boots(model_api):
    # The master preloaded the app (and built a client); a worker is forked from it.
    parent = model_client._client()

    def worker() -> bytes:
        gunicorn_config().post_worker_init(None)
        mine = [client for (pid, *_), client in model_client._clients.items() if pid == os.getpid()]
        return b"built" if mine and mine[0] is not parent else b"not built"

    assert _in_a_fork(worker) == b"built"
