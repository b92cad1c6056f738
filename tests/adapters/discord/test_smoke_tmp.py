from tests.adapters.discord.conftest import eventually

async def test_smoke(adapter, fake, sink):
    assert fake.commands
    msg = await fake.user_says(fake.alice, "hello")
    ev = await sink.next()
    print(ev)
