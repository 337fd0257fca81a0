import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_ping_answers_ok(communicator_for, learner):
    ws = await communicator_for(learner)
    reply = await ws.call("ping")
    assert reply == {"op": "ok", "ref": "1", "data": {"pong": True}}
