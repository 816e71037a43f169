"""Poses and hearing range through the runtime, with real SDK participants moving around."""

from __future__ import annotations

import asyncio
import random

import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.protocol import Vector3
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, decode_pose, encode_pose
from support.godot_standin import GodotStandIn
from support.rooms import join, publish_tone
from support.runtime import RuntimeProcess

pytestmark = [pytest.mark.server, pytest.mark.timeout(150)]


class Walker:
    """An SDK participant that speaks a tone and publishes its pose like a runtime does."""

    def __init__(self, room: rtc.Room, freq: float) -> None:
        self.room = room
        self.seq = 0
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(publish_tone(room, freq, 0.2, self.stop))

    async def move(self, x: float) -> None:
        for _ in range(3):  # lossy packets: send a few
            self.seq += 1
            packet = encode_pose(self.seq, Pose((x, 0.0, 0.0), (0.0, 0.0, -1.0)))
            await self.room.local_participant.publish_data(packet, reliable=False, topic=POSE_TOPIC)
            await asyncio.sleep(0.05)

    async def leave(self) -> None:
        self.stop.set()
        await self.task
        await self.room.disconnect()


async def test_hearing_range_follows_poses_with_hysteresis(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "hearing-room"
    near = Walker(await join(dev_credentials, "near", room), 300.0)
    far = Walker(await join(dev_credentials, "far", room), 400.0)
    try:
        await near.move(2.0)
        await far.move(30.0)
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=10.0, max_audible=0, hysteresis=0.1)
            await godot.send("pose", p=Vector3(0, 0, 0), f=Vector3(0, 0, -1))
            token = tokens.mint(dev_credentials, identity="listener", room=room)
            assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
            await near.move(2.0)
            await far.move(30.0)
            pose = await godot.wait_for("pose", identity="far")
            assert pose["p"] == Vector3(30.0, 0.0, 0.0)
            # Until a pose is known a participant counts as in range; once known, far is out.
            await godot.settle({"near"})
            await far.move(5.0)  # walks into range
            await godot.settle({"near", "far"})

            def unsubscribes() -> int:
                return len([e for e in godot.all_events if e["t"] == "track_unsubscribed"])

            before = unsubscribes()
            await near.move(10.5)  # beyond 10 m but inside the 11 m hysteresis band: kept
            await asyncio.sleep(1.0)
            assert godot.subscribed() == {"near", "far"}
            assert unsubscribes() == before
            await near.move(12.0)  # out
            await godot.settle({"far"})
            # The listener itself moves: now "near" (at 12 m) is close again, "far" 6 m away.
            await godot.send("pose", p=Vector3(11, 0, 0), f=Vector3(0, 0, -1))
            await godot.settle({"near", "far"})
            # ... and the local pose reached the room for the others.
            heard: asyncio.Future[Pose] = asyncio.get_running_loop().create_future()

            def on_data(packet: rtc.DataPacket) -> None:
                who = packet.participant.identity if packet.participant else ""
                if packet.topic == POSE_TOPIC and who == "listener" and not heard.done():
                    heard.set_result(decode_pose(packet.data)[1])

            near.room.on("data_received", on_data)
            assert (await asyncio.wait_for(heard, 10)).position == (11.0, 0.0, 0.0)
    finally:
        await near.leave()
        await far.leave()


async def test_max_audible_keeps_the_nearest(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "crowd-room"
    walkers = {
        name: Walker(await join(dev_credentials, name, room), 200.0 + 50 * i)
        for i, name in enumerate(["w1", "w2", "w3"])
    }
    try:
        for i, walker in enumerate(walkers.values()):
            await walker.move(1.0 + 2 * i)  # w1 at 1 m, w2 at 3 m, w3 at 5 m
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=0.0, max_audible=2)
            await godot.send("pose", p=Vector3(0, 0, 0), f=Vector3(0, 0, -1))
            token = tokens.mint(dev_credentials, identity="crowd-listener", room=room)
            assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
            for i, walker in enumerate(walkers.values()):
                await walker.move(1.0 + 2 * i)
            await godot.settle({"w1", "w2"})
            await walkers["w1"].move(20.0)  # w1 walks away: w3 is now among the two nearest
            await godot.settle({"w2", "w3"})
            await godot.send("subscribe", identity="w1", subscribed=True)  # forced on: counts
            await godot.settle({"w1", "w2"})  # against max_audible, so only the nearest other
            await godot.send("subscribe", identity="w2", subscribed=False)  # forced off
            await godot.settle({"w1", "w3"})
    finally:
        for walker in walkers.values():
            await walker.leave()


async def _sway(walker: Walker, x: float, stop: asyncio.Event, seed: int) -> None:
    """Publish a pose every 100 ms a few centimetres around ``x`` (someone standing still)."""
    rng = random.Random(seed)
    while not stop.is_set():
        walker.seq += 1
        pose = Pose((x + rng.uniform(-0.03, 0.03), 0.0, 0.0), (0.0, 0.0, -1.0))
        packet = encode_pose(walker.seq, pose)
        await walker.room.local_participant.publish_data(packet, reliable=False, topic=POSE_TOPIC)
        await asyncio.sleep(0.1)


def _changes(godot: GodotStandIn) -> int:
    kinds = ("track_subscribed", "track_unsubscribed")
    return len([e for e in godot.all_events if e["t"] in kinds])


async def test_max_audible_does_not_flap_between_two_swaying_participants(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "sway-room"
    walkers = {
        "sway-a": Walker(await join(dev_credentials, "sway-a", room), 300.0),
        "sway-b": Walker(await join(dev_credentials, "sway-b", room), 400.0),
    }
    stop = asyncio.Event()
    swaying = [
        asyncio.create_task(_sway(walkers["sway-a"], 4.99, stop, 1)),
        asyncio.create_task(_sway(walkers["sway-b"], 5.0, stop, 2)),
    ]
    window = 8.0
    try:
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=10.0, max_audible=1)  # default hysteresis
            await godot.send("pose", p=Vector3(0, 0, 0), f=Vector3(0, 0, -1))
            token = tokens.mint(dev_credentials, identity="sway-listener", room=room)
            assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
            await godot.wait_for("pose", identity="sway-a")
            await godot.wait_for("pose", identity="sway-b")
            await asyncio.sleep(2.0)  # both poses known, the first choice made
            assert len(godot.subscribed()) == 1, godot.subscribed()
            before = _changes(godot)
            await asyncio.sleep(window)
            with_hysteresis = _changes(godot) - before
            heard = godot.subscribed()
            # The same room without hysteresis or margin (the policy before issue 9).
            await godot.send("hearing", range=10.0, max_audible=1, hysteresis=0.0, margin=0.0)
            before = _changes(godot)
            await asyncio.sleep(window)
            without = _changes(godot) - before
    finally:
        stop.set()
        await asyncio.gather(*swaying)
        for walker in walkers.values():
            await walker.leave()
    print(
        f"two participants at 4.99 m and 5.0 m swaying +-3 cm, max_audible=1, {window:.0f} s "
        f"each: {with_hysteresis} subscription changes with hysteresis (heard {heard}), "
        f"{without} without"
    )
    assert with_hysteresis == 0
    assert len(heard) == 1
    assert without >= 4, "the test's sway is too small to show flapping without hysteresis"


async def _walk_listener(godot: GodotStandIn, stop: asyncio.Event) -> None:
    """The local player walks slowly along x near the origin: a new pose every 50 ms."""
    step = 0
    while not stop.is_set():
        step += 1
        await godot.send("pose", p=Vector3(0.01 * step, 0, 0), f=Vector3(0, 0, -1))
        await asyncio.sleep(0.05)


class PoseCounter:
    """Counts the pose packets one SDK participant receives from `sender`."""

    def __init__(self, room: rtc.Room, sender: str) -> None:
        self.count = 0

        def on_data(packet: rtc.DataPacket) -> None:
            who = packet.participant.identity if packet.participant else ""
            if packet.topic == POSE_TOPIC and who == sender:
                self.count += 1

        room.on("data_received", on_data)

    async def rate(self, seconds: float) -> float:
        """Packets a second over the next `seconds`."""
        before = self.count
        await asyncio.sleep(seconds)
        return (self.count - before) / seconds


async def test_far_participants_get_few_poses_and_near_ones_all(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "far-poses-room"
    near = Walker(await join(dev_credentials, "near-one", room), 300.0)
    far = Walker(await join(dev_credentials, "far-one", room), 400.0)
    stop = asyncio.Event()
    counts = {"near": PoseCounter(near.room, "poser"), "far": PoseCounter(far.room, "poser")}
    window = 4.0
    try:
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=10.0, max_audible=0)  # far: beyond 20 m
            token = tokens.mint(dev_credentials, identity="poser", room=room)
            assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
            walking = asyncio.create_task(_walk_listener(godot, stop))
            await near.move(5.0)
            await far.move(100.0)
            await godot.wait_for("pose", identity="far-one")
            await asyncio.sleep(1.0)
            rates = {name: await counter.rate(window) for name, counter in counts.items()}
            # The game turns it off: everyone gets every packet again.
            await godot.send("hearing", far_pose_hz=0.0)
            await asyncio.sleep(0.5)
            off = await counts["far"].rate(window)
            # The far one walks within twice the range: every packet, by default too.
            await godot.send("hearing", far_pose_hz=2.0)
            await far.move(15.0)
            await asyncio.sleep(0.5)
            back = await counts["far"].rate(window)
            stop.set()
            await walking
    finally:
        stop.set()
        await near.leave()
        await far.leave()
    print(
        f"pose packets a second from a walking player (hearing range 10 m): at 5 m "
        f"{rates['near']:.1f}, at 100 m {rates['far']:.1f} (far rate 2), {off:.1f} (far rate "
        f"off); once at 15 m {back:.1f}"
    )
    assert rates["near"] >= 15.0, rates  # every packet (the sender's cap is 20 Hz)
    assert 1.0 <= rates["far"] <= 2.6, rates
    assert off >= 15.0, off
    assert back >= 15.0, back
