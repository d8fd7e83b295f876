"""Who a voter is and how much a vote weighs: defences against coordinated labelling.

- **One voter, many addresses or cookies.** A label is given from a client address (IPv6: its
  /64) by the holder of the uploader cookie. Votes linked by either (one cookie seen from 31
  addresses, or 31 cookies from one address) belong to one voter: the connected component of the
  address-cookie graph of the task's feedback, named by its smallest address hash.
- **New voters weigh less.** A voter who agreed with the task's trusted labels (imported or
  admin-verified) weighs their smoothed agreement; one who voted before the deployed model was
  made (their labels already passed a gate) weighs ESTABLISHED_WEIGHT. Everyone else (new voters,
  and voters who mostly contradict trusted labels) is *unproven*: NEW_WEIGHT each, and on one
  image all unproven voters together count at most UNPROVEN_CAP of the established weight there,
  so that no crowd of them reaches the two-thirds a label needs to overturn an established one.
- **A burst of new addresses is one crowd.** Unproven voters who each labelled one or two images
  nobody had labelled before, CROWD_MIN or more of them within CROWD_WINDOW of each other, vote
  as one voter (`Outcome.crowds`): eighty addresses with a photo each weigh what one person does.
- **One contrarian cannot dispute a task away.** When one voter is party to most disputed images
  and on most of them came after someone had labelled the image otherwise, their votes are set
  aside (`Outcome.set_aside`) instead of leaving every image they touched out of training.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.tables import Classification, Feedback, Task, TrainingExample

AGREEMENT = 2 / 3  # share of the (weighted) votes the winning label needs; less is a dispute
ESTABLISHED_WEIGHT = 0.5
NEW_WEIGHT = 0.25
UNPROVEN_CAP = 0.45  # < 1/2: unproven votes can never hold a third against established ones
CONTRARIAN_MIN_DISPUTES = 5
CROWD_MIN = 5  # new voters in one burst before they count as one crowd
CROWD_MAX_VOTES = 2  # a crowd member labelled at most this many images
CROWD_WINDOW = dt.timedelta(hours=1)  # between one member's first label and the next's
# Votes against trusted labels worth a warning: this share of the votes cast on trusted images.
CONFLICT_SHARE = 0.2
CONFLICT_MIN_VOTES = 5


class Groups:
    """Union-find over address and cookie hashes."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def voter_names(links: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], str]:
    """Per (address hash, cookie hash) pair, its voter: the smallest address hash of its component."""
    groups = Groups()
    for address, cookie in links:
        groups.find(f"a:{address}")
        if cookie:
            groups.union(f"a:{address}", f"c:{cookie}")
    smallest: dict[str, str] = {}
    for address, _ in links:
        root = groups.find(f"a:{address}")
        smallest[root] = min(smallest.get(root, address), address)
    return {(a, c): smallest[groups.find(f"a:{a}")] for a, c in links}


@dataclass
class Vote:
    """A voter's latest label of one image."""

    image_id: int
    voter: str
    label: str
    created: dt.datetime


def latest_votes(task_id: int, image_ids: set[int] | None = None) -> dict[tuple[int, str], Vote]:
    """One vote per (image, voter): the voter's latest label; rejected feedback dropped.

    A voter groups every address and uploader cookie linked through the task's feedback. The one
    definition of a vote: the retrain's labels, the review queue and the dashboard count these.
    """
    query = (
        db.select(
            Feedback.image_id,
            Feedback.client,
            Classification.owner,
            Feedback.label,
            Feedback.created,
        )
        .join(Classification, Classification.id == Feedback.classification_id)
        .where(
            Feedback.task_id == task_id, Feedback.review != "rejected", Feedback.label.is_not(None)
        )
        .order_by(Feedback.id)
    )  # "no face here" answers (label null) are never a vote for a label of the task
    rows = db.session.execute(query).all()
    names = voter_names([(client, owner) for _, client, owner, _, _ in rows])
    out: dict[tuple[int, str], Vote] = {}
    for image_id, client, owner, label, created in rows:
        if image_ids is not None and image_id not in image_ids:
            continue
        voter = names[(client, owner)]
        first = out[(image_id, voter)].created if (image_id, voter) in out else created
        out[(image_id, voter)] = Vote(image_id, voter, label, min(first, created))
    return out


def trusted_labels(task: Task) -> dict[int, str]:
    """Imported labels and admin verdicts (the newest per image), by image id."""
    trusted = dict(
        db.session.execute(
            db.select(TrainingExample.image_id, TrainingExample.label).where(
                TrainingExample.task_id == task.id
            )
        ).all()
    )
    rows = db.session.execute(
        db.select(Feedback.image_id, Feedback.label)
        .where(
            Feedback.task_id == task.id,
            Feedback.review == "verified",
            Feedback.label.is_not(None),
        )
        .order_by(Feedback.reviewed_at, Feedback.id)
    ).all()
    trusted.update(dict(rows))
    return trusted


@dataclass
class Standing:
    """What the votes of a task say about each voter."""

    weight: float
    established: bool
    agree: int = 0  # votes matching a trusted label
    seen: int = 0  # votes on images with a trusted label
    votes: int = 0


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def standings(task: Task, votes: dict[tuple[int, str], Vote]) -> dict[str, Standing]:
    """Per voter: weight, whether established, and agreement with trusted labels."""
    trusted = trusted_labels(task)
    mv = registry.deployed(task.name)
    cutoff = _aware(mv.created) if mv is not None else None
    first: dict[str, dt.datetime] = {}
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (image_id, voter), vote in votes.items():
        first[voter] = min(first.get(voter, vote.created), vote.created)
        hits[voter][2] += 1
        if image_id in trusted:
            hits[voter][0] += vote.label == trusted[image_id]
            hits[voter][1] += 1
    out = {}
    for voter, (agree, seen, n) in hits.items():
        if seen:
            reliability = (agree + 1) / (seen + 2)
            out[voter] = Standing(reliability, reliability >= 0.5, agree, seen, n)
        elif cutoff is not None and _aware(first[voter]) < cutoff:
            out[voter] = Standing(ESTABLISHED_WEIGHT, True, 0, 0, n)
        else:
            out[voter] = Standing(NEW_WEIGHT, False, 0, 0, n)
    return out


def clear_winner(counter: Counter) -> str | None:
    """The label holding at least AGREEMENT of the votes, or None when the image is disputed."""
    ranked, total = counter.most_common(), sum(counter.values())
    if not ranked or total <= 0:
        return None
    return ranked[0][0] if ranked[0][1] >= AGREEMENT * total - 1e-9 else None


def tally(ballots: list[tuple[str, str]], standing: dict[str, Standing]) -> Counter:
    """Weighted votes per label on one image: (voter, label) ballots; unproven ones capped."""
    established, unproven = Counter(), Counter()
    for voter, label in ballots:
        s = standing[voter]
        (established if s.established else unproven)[label] += s.weight
    held, crowd = sum(established.values()), sum(unproven.values())
    if held > 0 and crowd > UNPROVEN_CAP * held:
        scale = UNPROVEN_CAP * held / crowd
        unproven = Counter({k: v * scale for k, v in unproven.items()})
    return established + unproven


@dataclass
class Outcome:
    """The verdict of the votes on a task's images."""

    winners: dict[int, str] = field(default_factory=dict)
    disputed: list[int] = field(default_factory=list)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # plain votes, one per voter
    set_aside: list[str] = field(default_factory=list)  # contrarian voters left out of disputes
    standing: dict[str, Standing] = field(default_factory=dict)
    crowds: dict[str, list[str]] = field(default_factory=dict)  # crowd name -> member voters
    backers: dict[int, set[str]] = field(default_factory=dict)  # voters behind each winner

    def proven(self, image_id: int) -> bool:
        """Whether an established voter backs the image's winning label."""
        return any(
            self.standing[v].established
            for v in self.backers.get(image_id, ())
            if v in self.standing
        )

    def crowd_only(self, image_id: int) -> bool:
        """Whether only crowds back the image's winning label."""
        backers = self.backers.get(image_id, set())
        return bool(backers) and all(v in self.crowds for v in backers)


def _new_image_voters(votes: dict[tuple[int, str], Vote], standing: dict[str, Standing]):
    """(first label time, voter) of unproven voters who only labelled a few images first."""
    first_on: dict[int, dt.datetime] = {}
    mine: dict[str, list[Vote]] = defaultdict(list)
    for (image_id, voter), vote in votes.items():
        first_on[image_id] = min(first_on.get(image_id, vote.created), vote.created)
        mine[voter].append(vote)
    return sorted(
        (min(_aware(v.created) for v in own), voter)
        for voter, own in mine.items()
        if not standing[voter].established
        and standing[voter].seen == 0
        and len(own) <= CROWD_MAX_VOTES
        and all(v.created <= first_on[v.image_id] for v in own)
    )


def crowds(votes: dict[tuple[int, str], Vote], standing: dict[str, Standing]) -> dict[str, str]:
    """Per member voter, its crowd's name: bursts of CROWD_MIN or more new voters on new images."""
    bursts: list[list[tuple[dt.datetime, str]]] = []
    for when, voter in _new_image_voters(votes, standing):
        if bursts and when - bursts[-1][-1][0] <= CROWD_WINDOW:
            bursts[-1].append((when, voter))
        else:
            bursts.append([(when, voter)])
    out = {}
    for burst in bursts:
        if len(burst) >= CROWD_MIN:
            name = "crowd" + min(v for _, v in burst)[:11]
            out.update({voter: name for _, voter in burst})
    return out


def _as_crowds(votes: dict[tuple[int, str], Vote], members: dict[str, str]):
    """The votes with each crowd member replaced by its crowd (one vote per image and crowd)."""
    out: dict[tuple[int, str], Vote] = {}
    for (image_id, voter), vote in sorted(votes.items(), key=lambda kv: kv[1].created):
        name = members.get(voter, voter)
        out.setdefault((image_id, name), Vote(image_id, name, vote.label, vote.created))
    return out


def _contrarian(
    disputed: list[int], ballots: dict[int, list[tuple[str, str, dt.datetime]]]
) -> str | None:
    """The voter who came to most disputed images after someone had labelled them otherwise and
    contradicted them: set aside. One honest labeller later opposed image by image (by one person
    or several) is never the one chosen: they came first."""
    if len(disputed) < CONTRARIAN_MIN_DISPUTES:
        return None
    involved, later = Counter(), Counter()
    for image_id in disputed:
        ballot = ballots[image_id]
        for voter, label, when in ballot:
            involved[voter] += 1
            opposed = [w for v, lab, w in ballot if v != voter and lab != label]
            later[voter] += bool(opposed) and _aware(when) > min(_aware(w) for w in opposed)
    chosen = [v for v, n in involved.items() if n > len(disputed) / 2 and later[v] > n / 2]
    return max(chosen, key=lambda v: (involved[v], later[v], v)) if chosen else None


def decide(task: Task) -> Outcome:
    """Every voted image's label by weighted vote, the disputed ones, and who was set aside."""
    votes = latest_votes(task.id)
    standing = standings(task, votes)
    members = crowds(votes, standing)
    out = Outcome(standing=standing)
    for voter, name in members.items():
        out.crowds.setdefault(name, []).append(voter)
        standing[name] = Standing(NEW_WEIGHT, False, votes=len(out.crowds[name]))
    votes = _as_crowds(votes, members)
    ballots: dict[int, list[tuple[str, str, dt.datetime]]] = defaultdict(list)
    for (image_id, voter), vote in votes.items():
        ballots[image_id].append((voter, vote.label, vote.created))
    out.counts = {i: dict(Counter(label for _, label, _ in b)) for i, b in ballots.items()}
    dropped: set[str] = set()
    for _ in range(3):  # a second contrarian may surface once the first is set aside
        out.winners, out.disputed, out.backers = {}, [], {}
        for image_id, ballot in ballots.items():
            kept = [(v, lab) for v, lab, _ in ballot if v not in dropped]
            kept = kept or [(v, lab) for v, lab, _ in ballot]
            winner = clear_winner(tally(kept, standing))
            if winner is None:
                out.disputed.append(image_id)
            else:
                out.winners[image_id] = winner
                out.backers[image_id] = {v for v, lab in kept if lab == winner}
        voter = _contrarian(out.disputed, ballots)
        if voter is None or voter in dropped:
            break
        dropped.add(voter)
        out.set_aside.append(voter)
    return out


def conflicts(task: Task, standing: dict[str, Standing] | None = None) -> dict:
    """How much user labels contradict the trusted ones, and the voters behind it (worst first)."""
    if standing is None:
        standing = standings(task, latest_votes(task.id))
    seen = sum(s.seen for s in standing.values())
    against = sum(s.seen - s.agree for s in standing.values())
    worst = sorted(
        ((v, s) for v, s in standing.items() if s.seen > s.agree),
        key=lambda x: (-(x[1].seen - x[1].agree), x[0]),
    )
    return {
        "votes_on_trusted": seen,
        "against_trusted": against,
        "significant": against >= CONFLICT_MIN_VOTES and against >= CONFLICT_SHARE * seen,
        "voters": [
            {"voter": v[:8], "against": s.seen - s.agree, "of": s.seen, "votes": s.votes}
            for v, s in worst[:5]
        ],
    }


def conflict_warning(report: dict) -> str | None:
    """One paragraph an admin can act on when user labels contradict verified / imported ones."""
    if not report["significant"]:
        return None
    who = ", ".join(f"{v['voter']} ({v['against']} of {v['of']})" for v in report["voters"])
    return (
        f"user labels contradict the trusted labels: {report['against_trusted']} of "
        f"{report['votes_on_trusted']} votes on verified or imported images disagree with them, "
        f"so the feedback this model learned from is likely poisoned or mistaken, not the model. "
        f"Voters behind most of it (voter: votes against trusted labels): {who}. Reject their "
        "pending labels in one action (review queue, or POST /api/admin/feedback/reject-voter)."
    )


def task_voters(task_id: int) -> dict[tuple[str, str | None], str]:
    """The voter of every (address hash, cookie hash) pair seen in the task's feedback."""
    rows = db.session.execute(
        db.select(Feedback.client, Classification.owner)
        .join(Classification, Classification.id == Feedback.classification_id)
        .where(Feedback.task_id == task_id)
        .distinct()
    ).all()
    return voter_names([(client, owner) for client, owner in rows])


def pending_of(
    prefix: str, *, whole_voter: bool = True, task_id: int | None = None
) -> list[Feedback]:
    """Pending feedback from the address whose hash starts with `prefix` or, with `whole_voter`,
    from every address and cookie linked to it (the voter), in one task or all of them."""
    query = db.select(Feedback.task_id).where(Feedback.client.startswith(prefix, autoescape=True))
    if task_id is not None:
        query = query.where(Feedback.task_id == task_id)
    out: list[Feedback] = []
    for tid in sorted(set(db.session.scalars(query.distinct()))):
        names = task_voters(tid)
        chosen = {v for (client, _), v in names.items() if client.startswith(prefix)}
        rows = db.session.execute(
            db.select(Feedback, Classification.owner)
            .join(Classification, Classification.id == Feedback.classification_id)
            .where(Feedback.task_id == tid, Feedback.review == "pending")
        ).all()
        out += [
            fb
            for fb, owner in rows
            if (
                names.get((fb.client, owner)) in chosen
                if whole_voter
                else fb.client.startswith(prefix)
            )
        ]
    return out
