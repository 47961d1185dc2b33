"""Procedural videos with pixel-exact ground truth, used by every synthetic dataset writer.

A video shows a few actors (shapes named after the A2D actor classes: adult, baby, ball, bird, car, cat, dog) that
move with the A2D actions (climbing, crawling, eating, flying, jumping, rolling, running, walking, none) over a
textured, noisy background. Each actor gets referring expressions built from its colour, class, position and
motion ("the red dog jumping on the left"); an expression always picks out exactly one actor. In "similar" videos
several actors share class and colour, so only motion or position tells them apart and a language-blind model can
at best guess among them.

Everything is drawn with numpy on small bounding boxes, deterministically from one `numpy.random.Generator`.
The label map is exact: pixel (t, y, x) carries the id of the front-most actor drawn there (0 background).

A scene may carry one actor on another (`carry="holding"`: an adult holding a baby; `carry="riding"`: a baby riding
a dog, A2D's closest stand-in for a rider on a horse). Their annotated instance masks overlap, as in A2D
(`SceneVideo.instance_mask`): the holder's mask includes the baby it holds, the ridden animal's mask includes the
part hidden behind its rider.

Size: one generator; drawing, trajectories, descriptions and carrying share the `Actor` geometry and the single
random stream, whose draw order fixes every synthetic dataset bit for bit (split, the order would be easy to break).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

ACTOR_CLASSES: tuple[str, ...] = ("adult", "baby", "ball", "bird", "car", "cat", "dog")
"""A2D actor classes; A2D actor id = index + 1."""

ACTIONS: tuple[str, ...] = ("climbing", "crawling", "eating", "flying", "jumping", "rolling", "running", "walking",
                            "none")
"""A2D actions; A2D action id = index + 1."""

VALID_A2D_IDS: frozenset[int] = frozenset({
    11, 12, 13, 15, 16, 17, 18, 19, 21, 22, 26, 28, 29, 34, 35, 36, 39, 41, 43, 44, 45, 46, 48, 49, 54, 55, 56, 57,
    59, 61, 63, 65, 66, 67, 68, 69, 72, 73, 75, 76, 77, 78, 79,
})
"""The 43 valid A2D actor-action ids (10 * actor + action), Xu et al. CVPR'15."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (35, 165, 55),
    "blue": (40, 75, 225),
    "yellow": (240, 215, 35),
    "orange": (245, 130, 25),
    "purple": (135, 50, 185),
    "pink": (245, 120, 195),
    "white": (248, 248, 248),
    "black": (20, 20, 20),
    "brown": (125, 75, 35),
}

NOUNS: dict[str, tuple[str, ...]] = {
    "adult": ("person", "man", "adult"),
    "baby": ("baby", "toddler"),
    "ball": ("ball",),
    "bird": ("bird",),
    "car": ("car",),
    "cat": ("cat", "kitten"),
    "dog": ("dog", "puppy"),
}

VERBS: dict[str, str] = {
    "climbing": "climbing up",
    "crawling": "crawling",
    "eating": "eating",
    "flying": "flying",
    "jumping": "jumping up and down",
    "rolling": "rolling",
    "running": "running",
    "walking": "walking",
    "none": "standing still",
}

_STILL: dict[str, str] = {"ball": "lying still", "car": "parked"}
"""Wording of the 'none' action for inanimate classes."""

HORIZONTAL = frozenset({"running", "walking", "crawling", "rolling", "flying"})
"""Actions that move the actor sideways; their expressions may say which way."""

SIMILAR_FRACTION = 0.4
"""Share of videos with several same-class, same-colour actors when `similar=None`."""

CARRY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "holding": ("adult", "baby", ("walking", "none")),
    "riding": ("dog", "baby", ("walking", "running")),
}
"""Carried pairs: (carrier class, carried class, carrier actions); the carried actor's action is "none"."""


def valid_actions(cls: str) -> tuple[str, ...]:
    """Actions that form a valid A2D actor-action pair with `cls`."""
    a = ACTOR_CLASSES.index(cls) + 1
    return tuple(act for i, act in enumerate(ACTIONS, 1) if 10 * a + i in VALID_A2D_IDS)


@dataclass(frozen=True)
class Actor:
    """One actor of a scene and its trajectory.

    `path[t] = (cx, cy, angle)` in pixels/radians; `direction` is +1 when it moves (or faces) right, -1 left;
    `depth` orders drawing (higher = in front); `scale` is the body half-size in pixels.
    """

    object_id: int
    cls: str
    colour: str
    motion: str
    start_side: str
    scale: float = 10.0
    direction: int = 1
    depth: int = 0
    path: tuple[tuple[float, float, float], ...] = ()

    @property
    def actor_id(self) -> int:
        """A2D actor id (1 adult .. 7 dog)."""
        return ACTOR_CLASSES.index(self.cls) + 1

    @property
    def action_id(self) -> int:
        """A2D action id (1 climbing .. 9 none)."""
        return ACTIONS.index(self.motion) + 1

    @property
    def a2d_id(self) -> int:
        """A2D actor-action id = 10 * actor + action."""
        return 10 * self.actor_id + self.action_id


@dataclass(frozen=True)
class SceneVideo:
    """A rendered video: frames (T, H, W, 3) uint8, labels (T, H, W) uint8 (0 background, actor ids 1..N)."""

    video_id: str
    frames: np.ndarray
    labels: np.ndarray
    actors: tuple[Actor, ...]
    expressions: tuple[tuple[str, tuple[int, ...]], ...]
    carried: tuple[tuple[int, int, str], ...] = ()
    """(carrier id, carried id, "holding" | "riding"); the carrier's id is the lower one (drawn behind)."""

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    def actor(self, object_id: int) -> Actor:
        return next(a for a in self.actors if a.object_id == object_id)

    def mask(self, t: int, object_id: int) -> np.ndarray:
        return self.labels[t] == object_id

    def silhouette(self, t: int, object_id: int) -> np.ndarray:
        """Complete (amodal) mask of an actor at frame t, occluded parts included (redrawn from its path)."""
        out = np.zeros((self.height, self.width), dtype=bool)
        win = _window(self.actor(object_id), t, self.height, self.width)
        if win is not None:
            out[win[0]:win[1], win[2]:win[3]] = win[4]
        return out

    def instance_mask(self, t: int, object_id: int) -> np.ndarray:
        """The annotated instance mask: the visible pixels, except for carried pairs, whose masks overlap (the
        holder's mask includes the held baby, the ridden animal's the part hidden behind its rider). Flattening
        the instance masks in id order (later wins) gives back `labels[t]` because the carrier has the lower id."""
        m = self.labels[t] == object_id
        for carrier, rider, kind in self.carried:
            if carrier == object_id:
                if kind == "holding":
                    m = m | self.instance_mask(t, rider)
                else:
                    m = m | (self.silhouette(t, carrier) & self.silhouette(t, rider))
        return m


# ---------------------------------------------------------------------------------------------- trajectories


def _trajectory(rng: np.random.Generator, motion: str, side: str, t: np.ndarray, h: int, w: int,
                s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Centre x, y, rotation angle per frame and the facing direction for an action.

    Speeds are fractions of the frame width over the whole clip, so motion looks alike at any frame size.
    """
    u = t / max(1, t[-1]) if len(t) > 1 else np.zeros_like(t, dtype=float)
    margin = 1.3 * s
    ground = h - margin - rng.uniform(0.0, 0.25) * (h - 2 * margin)
    xs = {"left": 0.2, "center": 0.5, "right": 0.8}[side] * w + rng.uniform(-0.05, 0.05) * w
    direction = 1 if side == "left" else -1 if side == "right" else int(rng.choice([-1, 1]))
    x = np.full_like(u, xs, dtype=float)
    y = np.full_like(u, ground, dtype=float)
    angle = np.zeros_like(u, dtype=float)
    if motion == "running":
        x = xs + direction * 0.6 * w * u
        y = ground - 0.08 * s * np.abs(np.sin(u * math.pi * 6))
    elif motion == "walking":
        x = xs + direction * 0.25 * w * u
        y = ground - 0.05 * s * np.abs(np.sin(u * math.pi * 4))
    elif motion == "crawling":
        x = xs + direction * 0.12 * w * u
        y = np.full_like(u, h - margin, dtype=float)
    elif motion == "rolling":
        x = xs + direction * 0.45 * w * u
        angle = direction * (x - xs) / max(s, 1.0)
    elif motion == "jumping":
        x = xs + direction * 0.04 * w * u
        y = ground - 0.3 * h * np.abs(np.sin(u * math.pi * rng.choice([2, 3])))
    elif motion == "flying":
        x = xs + direction * 0.5 * w * u
        y = 0.28 * h + 0.12 * h * np.sin(2 * math.pi * (1.5 * u + rng.uniform()))
    elif motion == "climbing":
        y = ground - 0.5 * h * u
        x = xs + 0.03 * w * np.sin(u * math.pi * 8)
    elif motion == "eating":
        y = ground + 0.12 * s * np.sin(u * math.pi * 10)
    elif motion != "none":
        raise ValueError(f"unknown motion {motion!r}")
    x = np.clip(x, margin, w - margin)
    y = np.clip(y, margin, h - margin)
    return x, y, angle, direction


# ---------------------------------------------------------------------------------------------- shapes


def _ellipse(dx: np.ndarray, dy: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((dx - cx) / rx) ** 2 + ((dy - cy) / ry) ** 2 <= 1.0


def _rect(dx: np.ndarray, dy: np.ndarray, cx: float, cy: float, hw: float, hh: float) -> np.ndarray:
    return (np.abs(dx - cx) <= hw) & (np.abs(dy - cy) <= hh)


def _shape(cls: str, dx: np.ndarray, dy: np.ndarray, s: float, f: int) -> tuple[np.ndarray, np.ndarray]:
    """Mask of a class's silhouette in body coordinates, plus a 'dark part' mask (wheels, head shading).

    `f` is the facing direction (+1 right); coordinates are already rotated for rolling actors.
    """
    dark = np.zeros(np.broadcast(dx, dy).shape, dtype=bool)
    if cls == "adult":
        m = _ellipse(dx, dy, 0, 0.25 * s, 0.42 * s, 0.95 * s) | _ellipse(dx, dy, 0, -0.95 * s, 0.32 * s, 0.32 * s)
        dark = _ellipse(dx, dy, 0, -0.95 * s, 0.32 * s, 0.32 * s)
    elif cls == "baby":
        m = _ellipse(dx, dy, 0, 0.3 * s, 0.5 * s, 0.55 * s) | _ellipse(dx, dy, 0, -0.45 * s, 0.38 * s, 0.38 * s)
        dark = _ellipse(dx, dy, 0, -0.45 * s, 0.38 * s, 0.38 * s)
    elif cls == "ball":
        m = _ellipse(dx, dy, 0, 0, 0.75 * s, 0.75 * s)
    elif cls == "bird":
        body = _ellipse(dx, dy, 0, 0, 0.7 * s, 0.33 * s)
        wing = _ellipse(dx, dy, -0.1 * f * s, -0.35 * s, 0.35 * s, 0.25 * s)
        head = _ellipse(dx, dy, 0.65 * f * s, -0.2 * s, 0.25 * s, 0.25 * s)
        m = body | wing | head
        dark = wing
    elif cls == "car":
        body = _rect(dx, dy, 0, 0.05 * s, 1.0 * s, 0.35 * s)
        cabin = _rect(dx, dy, -0.1 * f * s, -0.45 * s, 0.5 * s, 0.22 * s)
        wheels = _ellipse(dx, dy, -0.6 * s, 0.45 * s, 0.25 * s, 0.25 * s) | _ellipse(dx, dy, 0.6 * s, 0.45 * s,
                                                                                      0.25 * s, 0.25 * s)
        m = body | cabin | wheels
        dark = wheels
    elif cls == "cat":
        body = _ellipse(dx, dy, 0, 0.1 * s, 0.7 * s, 0.38 * s)
        head = _ellipse(dx, dy, 0.7 * f * s, -0.3 * s, 0.3 * s, 0.28 * s)
        ears = (_ellipse(dx, dy, 0.58 * f * s, -0.6 * s, 0.08 * s, 0.14 * s)
                | _ellipse(dx, dy, 0.82 * f * s, -0.6 * s, 0.08 * s, 0.14 * s))
        tail = _rect(dx, dy, -0.85 * f * s, -0.25 * s, 0.08 * s, 0.35 * s)
        m = body | head | ears | tail
        dark = ears
    elif cls == "dog":
        body = _ellipse(dx, dy, 0, 0, 0.85 * s, 0.4 * s)
        head = _ellipse(dx, dy, 0.85 * f * s, -0.35 * s, 0.36 * s, 0.3 * s)
        legs = (_rect(dx, dy, -0.55 * s, 0.5 * s, 0.1 * s, 0.25 * s)
                | _rect(dx, dy, 0.55 * s, 0.5 * s, 0.1 * s, 0.25 * s))
        m = body | head | legs
        dark = legs
    else:
        raise ValueError(f"unknown actor class {cls!r}")
    return m, dark & m


_EXTENT = {"adult": 1.35, "baby": 0.9, "ball": 0.8, "bird": 0.95, "car": 1.05, "cat": 1.1, "dog": 1.25}
"""Half-extent of each silhouette in units of scale (bounds the drawing window)."""


def _window(a: Actor, f: int, height: int, width: int) -> tuple[Any, ...] | None:
    """(y0, y1, x0, x1, silhouette, dark part, dx, dy) of an actor at frame f on its drawing window (dx, dy: body
    coordinates); None when the window is off-frame."""
    cx, cy, ang = a.path[f]
    ext = _EXTENT[a.cls] * a.scale * (1.42 if a.motion == "rolling" else 1.0) + 1
    x0, x1 = max(0, int(cx - ext)), min(width, int(math.ceil(cx + ext)) + 1)
    y0, y1 = max(0, int(cy - ext)), min(height, int(math.ceil(cy + ext)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    gy, gx = np.ogrid[y0:y1, x0:x1]
    dx, dy = gx + 0.5 - cx, gy + 0.5 - cy
    if ang:
        c, s_ = math.cos(ang), math.sin(ang)
        dx, dy = c * dx + s_ * dy, -s_ * dx + c * dy
    m, dark = _shape(a.cls, dx, dy, a.scale, a.direction)
    return y0, y1, x0, x1, m, dark, dx, dy


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A muted two-band scene (sky-ish top, ground-ish bottom) with low-frequency texture, float32 (H, W, 3)."""
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    top = rng.uniform(120, 190, 3).astype(np.float32)
    bottom = rng.uniform(70, 150, 3).astype(np.float32)
    horizon = rng.uniform(0.35, 0.6)
    band = 1.0 / (1.0 + np.exp(-(yy - horizon) * 25.0))
    img = top * (1.0 - band)[..., None] + bottom * band[..., None]
    tex = np.zeros((h, w), dtype=np.float32)
    for _ in range(4):
        fx, fy, ph = rng.uniform(1, 9), rng.uniform(1, 9), rng.uniform(0, 2 * math.pi)
        tex += np.sin(2 * math.pi * (fx * xx + fy * yy) + ph).astype(np.float32)
    img = img + 6.0 * tex[..., None]
    # Mute saturation so that the saturated actor colours stand out.
    grey = img.mean(axis=-1, keepdims=True)
    return (0.6 * grey + 0.4 * img).astype(np.float32)


# ---------------------------------------------------------------------------------------------- expressions


def _position_labels(actors: list[Actor]) -> dict[int, str | None]:
    """Relative horizontal position of each actor ("on the left" / "on the right" / "in the middle").

    A label is given only when it is unambiguous: the actor's mean x is separated from every other actor's by
    more than the larger of their sizes.
    """
    out: dict[int, str | None] = {a.object_id: None for a in actors}
    if len(actors) < 2:
        return out
    mx = {a.object_id: float(np.mean([p[0] for p in a.path])) for a in actors}
    order = sorted(actors, key=lambda a: mx[a.object_id])

    def gap(a: Actor, b: Actor) -> bool:
        return abs(mx[a.object_id] - mx[b.object_id]) > 1.2 * max(a.scale, b.scale)

    first, last = order[0], order[-1]
    if gap(first, order[1]):
        out[first.object_id] = "on the left"
    if gap(last, order[-2]):
        out[last.object_id] = "on the right"
    if len(order) == 3 and gap(order[1], first) and gap(order[1], last):
        out[order[1].object_id] = "in the middle"
    return out


def _motion_phrase(a: Actor, with_direction: bool) -> str:
    verb = _STILL.get(a.cls, VERBS[a.motion]) if a.motion == "none" else VERBS[a.motion]
    if with_direction and a.motion in HORIZONTAL:
        verb += " to the right" if a.direction > 0 else " to the left"
    return verb


def describe(rng: np.random.Generator, actors: tuple[Actor, ...] | list[Actor], object_id: int,
             use_motion: bool = True, extra: float = 0.35) -> str:
    """A referring expression that singles out actor `object_id` among `actors`.

    Picks the smallest set of attributes (colour, motion, position; the class noun is always said) that no other
    actor shares, then adds true attributes at random with probability `extra` so phrasing varies.
    `use_motion=False` describes the first frame only (as Refer-DAVIS17 first-frame expressions do).
    """
    actors = list(actors)
    me = next(a for a in actors if a.object_id == object_id)
    others = [a for a in actors if a.object_id != object_id]
    pos = _position_labels(actors)[object_id]
    keys = ["colour", "motion", "position"] if use_motion else ["colour", "position"]
    if pos is None:
        keys.remove("position")

    def value(a: Actor, key: str) -> object:
        if key == "colour":
            return a.colour
        if key == "motion":
            return (a.motion, a.direction if a.motion in HORIZONTAL else 0)
        return pos if a is me else None  # a position label is unique by construction

    def unique(subset: tuple[str, ...]) -> bool:
        return not any(o.cls == me.cls and all(value(o, k) == value(me, k) for k in subset) for o in others)

    subsets = [()] + [(k,) for k in keys] + [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]]
    subsets.append(tuple(keys))
    candidates = [sub for sub in subsets if unique(sub)]
    if candidates:
        n = min(len(sub) for sub in candidates)
        smallest = [sub for sub in candidates if len(sub) == n]
        chosen = set(smallest[int(rng.integers(len(smallest)))])
    else:  # indistinguishable actors (should not happen; the renderer avoids it): say everything
        chosen = set(keys)
    for k in keys:
        if k not in chosen and rng.random() < extra:
            chosen.add(k)
    noun = NOUNS[me.cls][int(rng.integers(len(NOUNS[me.cls])))]
    det = "the" if others or rng.random() < 0.7 else "a"
    colour = f"{me.colour} " if "colour" in chosen else ""
    needs_direction = "motion" in chosen and any(
        o.cls == me.cls and o.motion == me.motion and o.direction != me.direction for o in others)
    verb = _motion_phrase(me, needs_direction or rng.random() < 0.3) if "motion" in chosen else ""
    where = pos if "position" in chosen and pos else ""
    form = int(rng.integers(3))
    if verb and form == 1:
        text = f"{det} {colour}{noun} that is {verb}"
        text += f" {where}" if where else ""
    elif verb and form == 2 and where:
        text = f"{det} {colour}{noun} {where} {verb}"
    else:
        text = " ".join(x for x in (f"{det} {colour}{noun}".strip(), verb, where) if x)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------- rendering


def _pick_actors(rng: np.random.Generator, n: int, similar: bool,
                 primary: tuple[str, str] | None) -> list[tuple[str, str, str]]:
    """(class, colour, motion) of each actor; in similar videos 2-3 actors share class and colour."""
    colours = list(COLOURS)
    specs: list[tuple[str, str, str]] = []
    if primary is not None:
        specs.append((primary[0], str(rng.choice(colours)), primary[1]))
    if similar:
        k = min(n - len(specs), int(rng.integers(2, 4))) if n - len(specs) >= 2 else 0
        if primary is not None and k < 1:
            k = 1
        cls = primary[0] if primary is not None else str(rng.choice(ACTOR_CLASSES))
        colour = specs[0][1] if primary is not None else str(rng.choice(colours))
        used = {specs[0][2]} if primary is not None else set()
        for _ in range(k):
            acts = [a for a in valid_actions(cls) if a not in used
                    and not ({a, *used} >= {"eating", "none"})]
            act = str(rng.choice(acts))
            used.add(act)
            specs.append((cls, colour, act))
    while len(specs) < n:
        cls = str(rng.choice(ACTOR_CLASSES))
        colour = str(rng.choice(colours))
        if any(c == cls and col == colour for c, col, _ in specs):
            continue
        specs.append((cls, colour, str(rng.choice(valid_actions(cls)))))
    return specs


def render_video(rng: np.random.Generator, video_id: str, num_frames: int, height: int, width: int,
                 num_actors: int | None = None, similar: bool | None = False,
                 primary: tuple[str, str] | None = None, expressions_per_actor: int = 1,
                 carry: str | None = None) -> SceneVideo:
    """Render one video with exact labels and one or more expressions per actor.

    `similar=None` draws it with probability `SIMILAR_FRACTION`. `primary=(class, action)` fixes actor 1
    (J-HMDB: the annotated person). `num_actors=None` draws 1-4 actors (2-4 in similar videos). `carry` ("holding"
    or "riding", see `CARRY`) makes actor 1 carry actor 2, whose instance masks then overlap.
    """
    if carry is not None and carry not in CARRY:
        raise ValueError(f"carry must be one of {sorted(CARRY)}, got {carry!r}")
    if num_frames < 1 or height < 16 or width < 16:
        raise ValueError("need at least 1 frame of at least 16x16 pixels")
    if similar is None:
        similar = bool(rng.random() < SIMILAR_FRACTION)
    if num_actors is None:
        num_actors = int(rng.integers(2, 5)) if similar else int(rng.integers(1, 5))
    if similar and num_actors < 2:
        num_actors = 2
    if carry is not None:
        similar, num_actors = False, max(2, num_actors)
    specs = _pick_actors(rng, num_actors, similar, primary)
    if carry is not None:
        specs = _carry_specs(rng, specs, carry)
    t = np.arange(num_frames, dtype=float)
    base_scale = 0.15 * min(height, width * 0.75)
    sides = ["left", "right", "center"]
    order = rng.permutation(len(specs))
    actors: list[Actor] = []
    for i, (cls, colour, motion) in enumerate(specs):
        s = base_scale * rng.uniform(0.85, 1.15) * (0.75 if cls in ("baby", "ball", "bird") else 1.0)
        side = sides[int(order[i]) % 3] if len(specs) > 1 else str(rng.choice(sides))
        if motion in HORIZONTAL and side == "center":
            side = str(rng.choice(["left", "right"]))
        x, y, ang, direction = _trajectory(rng, motion, side, t, height, width, s)
        path = tuple((float(a), float(b), float(c)) for a, b, c in zip(x, y, ang, strict=True))
        depth = int(rng.integers(100)) + (100 if motion == "flying" else 0)
        actors.append(Actor(i + 1, cls, colour, motion, side, float(s), direction, depth, path))
    if carry is not None:
        actors[1] = _carried_actor(actors[0], actors[1], carry)

    bg = _background(rng, height, width)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    labels = np.zeros((num_frames, height, width), dtype=np.uint8)
    drawing = sorted(actors, key=lambda a: (a.depth, a.object_id))
    stripe_phase = {a.object_id: rng.uniform(0, 2 * math.pi) for a in actors}
    for f in range(num_frames):
        img = bg + rng.normal(0.0, 3.0, size=bg.shape).astype(np.float32)
        lab = labels[f]
        for a in drawing:
            win = _window(a, f, height, width)
            if win is None:
                continue
            y0, y1, x0, x1, m, dark, dx, dy = win
            if not m.any():
                continue
            col = np.asarray(COLOURS[a.colour], dtype=np.float32)
            shade = 1.0 - 0.12 * np.clip(dy / (a.scale * 1.5), -1, 1)
            if a.motion == "rolling":
                shade = shade * np.where(np.sin(3.0 * dx / a.scale + stripe_phase[a.object_id]) > 0, 1.0, 0.65)
            shade = np.where(dark, shade * 0.6, shade)
            patch = img[y0:y1, x0:x1]
            rgb = col[None, None, :] * np.broadcast_to(shade, m.shape)[..., None]
            if a.colour == "black":
                rgb = rgb + 25.0 * (1 - np.broadcast_to(shade, m.shape))[..., None]
            patch[m] = rgb[m]
            lab[y0:y1, x0:x1][m] = a.object_id
        frames[f] = np.clip(img, 0, 255).astype(np.uint8)

    exps: list[tuple[str, tuple[int, ...]]] = []
    for a in actors:
        seen: set[str] = set()
        for k in range(expressions_per_actor):
            text = describe(rng, actors, a.object_id, extra=0.35 + 0.2 * k)
            for _ in range(4):
                if text not in seen:
                    break
                text = describe(rng, actors, a.object_id, extra=0.8)
            seen.add(text)
            exps.append((text, (a.object_id,)))
    carried: tuple[tuple[int, int, str], ...] = ()
    if carry is not None:
        carried = ((1, 2, carry),)
        exps = _carry_expressions(exps, actors[0], actors[1], carry)
    return SceneVideo(video_id, frames, labels, tuple(actors), tuple(exps), carried)


def _carry_specs(rng: np.random.Generator, specs: list[tuple[str, str, str]], carry: str
                 ) -> list[tuple[str, str, str]]:
    """Actor 1 becomes the carrier, actor 2 the carried baby; other actors keep distinct (class, colour)."""
    carrier_cls, carried_cls, motions = CARRY[carry]
    out = [(carrier_cls, specs[0][1], str(rng.choice(motions)))]
    colour2 = next(c for c in COLOURS if c != out[0][1] and c != specs[1][1]) if specs[1][1] == out[0][1] \
        else specs[1][1]
    out.append((carried_cls, colour2, "none"))
    for cls, colour, motion in specs[2:]:
        if any(c == cls and col == colour for c, col, _ in out):
            colour = next(c for c in COLOURS if not any(x == cls and col == c for x, col, _ in out))
        out.append((cls, colour, motion))
    return out


def _carried_actor(carrier: Actor, carried: Actor, carry: str) -> Actor:
    """The carried actor follows its carrier: held at the chest, or sitting on the back; drawn just in front."""
    s = carrier.scale
    if carry == "holding":
        dx, dy, scale = 0.35 * carrier.direction * s, 0.05 * s, 0.5 * s
    else:
        dx, dy, scale = -0.15 * carrier.direction * s, -0.75 * s, 0.55 * s
    path = tuple((x + dx, y + dy, 0.0) for x, y, _ in carrier.path)
    return Actor(carried.object_id, carried.cls, carried.colour, "none", carrier.start_side, scale,
                 carrier.direction, carrier.depth + 1, path)


def _carry_expressions(exps: list[tuple[str, tuple[int, ...]]], carrier: Actor, carried: Actor, carry: str
                       ) -> list[tuple[str, tuple[int, ...]]]:
    """The first expression of each actor of a carried pair says what it does (the class noun is unique)."""
    noun = "person" if carrier.cls == "adult" else carrier.cls
    if carry == "holding":
        texts = {carrier.object_id: f"the {carrier.colour} {noun} holding a baby",
                 carried.object_id: f"the baby held by the {carrier.colour} {noun}"}
    else:
        texts = {carrier.object_id: f"the {carrier.colour} {noun} carrying a baby on its back",
                 carried.object_id: f"the baby riding the {carrier.colour} {noun}"}
    out, done = [], set()
    for text, ids in exps:
        if ids[0] in texts and ids[0] not in done:
            done.add(ids[0])
            text = texts[ids[0]]
        out.append((text, ids))
    return out


__all__ = ["ACTIONS", "ACTOR_CLASSES", "Actor", "CARRY", "COLOURS", "HORIZONTAL", "NOUNS", "SIMILAR_FRACTION",
           "SceneVideo", "VALID_A2D_IDS", "VERBS", "describe", "render_video", "valid_actions"]
