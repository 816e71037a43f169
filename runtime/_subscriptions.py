"""Which remote audio a session subscribes to, and asking the SDK for it.

`Subscriptions` holds what decides (the listener's pose, the hearing policy, Godot's forced
`subscribe` overrides) and what it asked the SDK for per publication, and applies
`choose_audible` (runtime/_presence.py) to the room's participants: a publication's
`set_subscribed` is called only when the wish changes.

Blocked identities (the `block` request) come before all of that: they are no candidates
for the hearing range, a `subscribe` override does not bring them back, and their audio is
unsubscribed whenever it is found subscribed; the list outlives rooms, reconnections and
rejoins (only a new `block` request changes it).

Held back while reconnecting: a subscription changed between the SDK's `reconnecting` and
`reconnected` is lost (seen with livekit 1.2.1 after a full reconnect), so nothing is asked
while held, and once resumed every subscription is asked for again.
"""

from __future__ import annotations

from collections.abc import Iterable

from livekit import rtc

from ._presence import HearingPolicy, Pose, PoseTracker, choose_audible


class Subscriptions:
    """The hearing-range subscription policy of one session."""

    def __init__(self) -> None:
        self.policy = HearingPolicy()
        """The `hearing` request's policy."""
        self.listener: Pose | None = None
        """The listener's latest pose (None until Godot sends one)."""
        self.forced: dict[str, bool] = {}
        """identity -> `subscribe` override (True: always heard, False: never)."""
        self.blocked: frozenset[str] = frozenset()
        """The `block` request's identities: never subscribed, whatever else says."""
        self._wanted: dict[str, bool] = {}  # publication sid -> subscription we asked for
        self._held = False
        self._ask_again = False

    @property
    def held(self) -> bool:
        """Whether subscriptions are held back (the SDK is reconnecting)."""
        return self._held

    def wanted(self, publication_sid: str) -> bool | None:
        """The subscription last asked for a publication (None: never asked)."""
        return self._wanted.get(publication_sid)

    def hold(self) -> None:
        """Ask nothing until `resume` (the SDK started reconnecting)."""
        self._held = True

    def resume(self) -> None:
        """Stop holding back; the next `apply` asks for every subscription again."""
        self._held = False
        self._ask_again = True

    def forget(self, publication_sids: Iterable[str]) -> None:
        """Forget what was asked for these publications (their participant left)."""
        for sid in publication_sids:
            self._wanted.pop(sid, None)

    def is_blocked(self, identity: str) -> bool:
        """Whether `identity` is blocked (never to be heard)."""
        return identity in self.blocked

    def refuse(self, publication: rtc.RemoteTrackPublication) -> None:
        """Unsubscribe a publication that arrived subscribed though it is not wanted."""
        self._wanted[publication.sid] = False
        publication.set_subscribed(False)

    def reset(self) -> None:
        """Forget everything a room left behind (the policy, pose, overrides and blocked
        identities stay)."""
        self._wanted.clear()
        self._held = False
        self._ask_again = False

    def apply(self, participants: Iterable[rtc.RemoteParticipant], poses: PoseTracker) -> None:
        """Subscribe to the audio the listener can hear, unsubscribe from the rest."""
        if self._held:
            return
        audio: dict[str, list[rtc.RemoteTrackPublication]] = {}
        for participant in participants:
            pubs = [
                pub
                for pub in participant.track_publications.values()
                if pub.kind == rtc.TrackKind.KIND_AUDIO
            ]
            if pubs:
                audio[participant.identity] = pubs
        currently = {
            identity
            for identity, pubs in audio.items()
            if any(self._wanted.get(pub.sid, False) for pub in pubs)
        }
        blocked = self.blocked  # no candidates: no place under max_audible, no override
        candidates = {i: poses.get(i) for i in audio if i not in blocked}
        audible = choose_audible(self.listener, candidates, currently, self.policy, self.forced)
        resend, self._ask_again = self._ask_again, False
        for identity, pubs in audio.items():
            want = identity in audible and identity not in blocked
            for pub in pubs:
                if resend or self._wanted.get(pub.sid) != want:
                    self._wanted[pub.sid] = want
                    pub.set_subscribed(want)
