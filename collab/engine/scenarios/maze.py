"""Collaborative maze with split views, after "The Collaboration Gap"."""

from __future__ import annotations

import random
import re
from collections import deque

from collab.engine.params import Param, count, role_param

from .base import Scenario, register

MOVES = {"N": (-1, 0), "S": (1, 0), "E": (0, 1), "W": (0, -1)}
STAY = "STAY"
WORDS = {"north": "N", "up": "N", "south": "S", "down": "S", "east": "E", "right": "E", "west": "W", "left": "W",
         "n": "N", "s": "S", "e": "E", "w": "W"}
# "north", "2 north", "3x E", "N": a single capital letter counts, a lone lower-case letter does not.
DIRECTION = re.compile(r"(?:(\d+)\s*(?:x\s*|times\s+)?)?\b(north|south|east|west|up|down|left|right|[NSEW])\b",
                       re.IGNORECASE)
AGREE = re.compile(r"\b(agree|agreed|yes|ok|okay|sounds good|confirmed|deal|let's do it|correct)\b", re.IGNORECASE)
DONE = re.compile(r"\bDONE\b")
WALL_NOTE = re.compile(r"\((\d+)\s*,\s*(\d+)\)")


def moves_in(text: str) -> list[str]:
    """The moves an utterance names, in order: words (north, up, left...) or
    capital letters N/S/E/W, each optionally with a count ("3 east", "2x N")."""
    found = []
    for match in DIRECTION.finditer(text):
        word = match.group(2)
        if len(word) == 1 and not word.isupper():
            continue
        found += [WORDS[word.lower()]] * min(int(match.group(1) or 1), 50)
    return found


def grade_transcript(entries: list[dict], agents: list[str]) -> dict:
    """The offline rule-based grader: the last move sequence one navigator
    proposed that the other accepted in their next utterance (by agreeing
    without naming other moves, or by repeating the same moves). Without an
    accepted proposal, the last proposal, marked as not agreed."""
    said = [e for e in entries if e["role"] in agents]
    agreed, last = None, None
    for i, entry in enumerate(said):
        proposal = moves_in(entry["text"])
        if not proposal:
            continue
        last = proposal
        reply = next((e for e in said[i + 1:] if e["role"] != entry["role"]), None)
        if reply is None:
            continue
        answer = moves_in(reply["text"])
        if answer == proposal or (not answer and AGREE.search(reply["text"])):
            agreed = proposal
    if agreed is not None:
        return {"moves": agreed, "agreed": True}
    return {"moves": last or [], "agreed": False}


def shortest_path(size: int, blocked, start: list[int], goal: list[int]) -> list[str] | None:
    """BFS; `blocked(r, c)` says whether a cell cannot be entered. Returns the moves or None."""
    start_cell, goal_cell = (start[0], start[1]), (goal[0], goal[1])
    came: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start_cell: None}
    queue = deque([start_cell])
    while queue:
        cell = queue.popleft()
        if cell == goal_cell:
            path = []
            while came[cell] is not None:
                cell, move = came[cell]
                path.append(move)
            return path[::-1]
        for move, (dr, dc) in MOVES.items():
            r, c = cell[0] + dr, cell[1] + dc
            if 0 <= r < size and 0 <= c < size and (r, c) not in came and not blocked(r, c):
                came[(r, c)] = (cell, move)
                queue.append((r, c))
    return None


def generate_maze(seed: int, size: int, wall_ratio: float, min_path: int, max_path: int) -> dict:
    """Place round(wall_ratio * size^2) walls and pick start and goal, retrying until the
    shortest path is between min_path and max_path steps. Deterministic in the seed."""
    rng = random.Random(f"maze:{seed}")
    cells = [(r, c) for r in range(size) for c in range(size)]
    n_walls = round(wall_ratio * size * size)
    for _ in range(50_000):
        walls = set(rng.sample(cells, n_walls))
        open_cells = [cell for cell in cells if cell not in walls]
        start, goal = (list(cell) for cell in rng.sample(open_cells, 2))
        path = shortest_path(size, lambda r, c, w=walls: (r, c) in w, start, goal)
        if path is not None and min_path <= len(path) <= max_path:
            grid = ["".join("#" if (r, c) in walls else "." for c in range(size)) for r in range(size)]
            return {"grid": grid, "start": start, "goal": goal, "optimal": len(path)}
    raise ValueError(f"maze: no {size}x{size} maze with a {min_path}..{max_path} step path found; relax the parameters")


@register
class Maze(Scenario):
    """Two agents move one shared token through a grid maze (row 0 is north,
    column 0 is west). Each turn both state {"move": "N|S|E|W"} (optionally
    with a "message" to the partner); the token moves only if both agree and
    the move is legal. A wall or the edge means no move and a bump; differing
    moves mean no move and a disagreement.

    Split views (mode "pair"): the first role sees walls in the west half
    (columns 0 .. size//2 - 1), the second role the east half. Both always
    see the token and the goal, and both learn a wall when the team bumps
    into it and the cells it has visited. mode "solo": only the first role
    plays and sees the whole map.

    relay: the first role leads. Each turn is two sequential act steps: the
    leader proposes, then the follower, who sees the proposal, answers.

    talk_per_turn > 0 adds that many free-text utterances (leader first,
    alternating) before each turn.

    conversation "free" (the paper's setting): the two navigators talk
    without any format, alternating (the leader first), for at most
    max_utterances or until one says DONE; the token does not move while
    they talk. Then the moves they agreed on are extracted by a grader: the
    role named grader_role (an act step with {"moves": [...]}, e.g. a model
    reading the transcript) or, without one, the offline rule-based grader
    (`grade_transcript`). The extracted moves are played from the start:
    a wall or the edge is a bump, and play stops at the goal.

    Relay (the paper's): the stronger navigator (by `strengths`, role ->
    strength, filled from the roles' strength; ties and no strengths: role
    order) leads; with handoff_turn > 0 it leads the first handoff_turn
    turns (utterances in free conversation) and then hands the lead to the
    weaker one.

    Default action: {"move": "STAY"}, an abstention: the token does not move
    that turn (counted as an abstention, not as a disagreement or bump).
    STAY is not in the schema, so models cannot choose it.
    """

    key = "maze"
    title = "Collaborative maze"
    summary = "Two agents with split views of a grid steer one token to the goal together."
    paper = "The Collaboration Gap (split-view collaborative maze; relay from the stronger agent)"
    default_params = {
        "mode": "pair",
        "relay": False,
        "max_moves": 30,
        "size": 6,
        "wall_ratio": 0.3,
        "min_path": 7,
        "max_path": 9,
        "talk_per_turn": 0,
        "conversation": "structured",
        "max_utterances": 40,
        "grader_role": "",
        "strengths": {},
        "handoff_turn": 0,
    }
    param_help = {
        "mode": "pair (two agents with split views) or solo (one agent sees the whole map).",
        "relay": "The first role proposes first and the second sees that proposal (pair mode only).",
        "max_moves": "Most turns before the team gives up.",
        "size": "The grid is size x size.",
        "wall_ratio": "Share of cells that are walls.",
        "min_path": "Shortest allowed optimal path length (steps).",
        "max_path": "Longest allowed optimal path length (steps).",
        "talk_per_turn": "Free-text utterances before each turn (0: only the optional message in each move).",
        "conversation": "structured (a JSON move each turn) or free (the paper: free talk, moves extracted "
                        "afterwards by a grader).",
        "max_utterances": "Free conversation: most utterances before the moves are extracted.",
        "grader_role": "Free conversation: the role that extracts the agreed moves (empty: the offline rule-based "
                       "grader).",
        "strengths": "Role -> strength; in relay the stronger navigator leads (the preset fills it from the roles).",
        "handoff_turn": "Relay: the stronger leads this many turns, then hands the lead to the weaker (0: never).",
    }
    params_schema = (
        Param("mode", "choice", choices=("pair", "solo")),
        Param("relay", "bool"),
        count("max_moves", "", 1, 500),
        count("size", "", 3, 12),
        Param("wall_ratio", "float", min=0.0, max=0.6, step=0.05),
        count("min_path", "", 1, 144),
        count("max_path", "", 1, 144),
        count("talk_per_turn", "", 0, 20),
        Param("conversation", "choice", choices=("structured", "free")),
        count("max_utterances", "", 2, 400),
        role_param("grader_role", ""),
        Param("strengths", "json"),
        count("handoff_turn", "", 0, 500),
    )
    default_roles = [
        {"name": "Navigator A", "persona": "Sees the west half of the maze.",
         "goals": "Reach the goal together in as few moves as possible."},
        {"name": "Navigator B", "persona": "Sees the east half of the maze.",
         "goals": "Reach the goal together in as few moves as possible."},
    ]
    strategies = ["follow_known_path", "random"]

    def check_params(self, p: dict) -> None:
        self._choice(p, "mode", ["pair", "solo"])
        self._range(p, "max_moves", 1, 500)
        self._range(p, "size", 3, 12)
        self._range(p, "wall_ratio", 0.0, 0.6)
        self._range(p, "min_path", 1, p["size"] * p["size"])
        self._range(p, "max_path", p["min_path"], p["size"] * p["size"])
        self._range(p, "talk_per_turn", 0, 20)
        self._choice(p, "conversation", ["structured", "free"])
        self._range(p, "max_utterances", 2, 400)
        self._range(p, "handoff_turn", 0, 500)
        bad = [k for k, v in p["strengths"].items() if isinstance(v, bool) or not isinstance(v, int | float)]
        if bad:
            raise ValueError(f"{self.key}: parameter 'strengths' must map role names to numbers ({', '.join(bad)})")
        if p["conversation"] == "free" and p["mode"] == "solo":
            raise ValueError(f"{self.key}: free conversation needs mode pair")

    def initial_state(self, params: dict, role_names: list[str], seed: int) -> dict:
        p = self.params(params)
        names = self._roles(role_names)
        needed = 1 if p["mode"] == "solo" else 2
        if len(names) < needed:
            raise ValueError(f"{self.key}: {p['mode']} mode needs {needed} roles, got {len(names)}")
        if p["grader_role"] and p["grader_role"] not in names[needed:]:
            raise ValueError(f"{self.key}: grader_role must be a role other than the navigators "
                             f"({', '.join(names[:needed])}), got {p['grader_role']!r}")
        unknown = sorted(set(p["strengths"]) - set(names))
        if unknown:
            raise ValueError(f"{self.key}: strengths name roles not in the team: {', '.join(unknown)}")
        maze = generate_maze(seed, p["size"], p["wall_ratio"], p["min_path"], p["max_path"])
        state = self._base_state(p, names, seed)
        state.update(maze)
        state.update({
            "agents": names[:needed],
            "pos": list(maze["start"]),
            "turn": 1,
            "talk_count": 0,
            "proposal": None,
            "known_walls": [],
            "visited": [list(maze["start"])],
            "log": [],
            "transcript": [],
            "distances": [maze["optimal"]],
            "moves": 0,
            "disagreements": 0,
            "bumps": 0,
            "abstentions": 0,
            "solved": False,
            "grade": None,
        })
        self._start_turn(state)
        return state

    def _relay(self, state: dict) -> bool:
        return state["params"]["relay"] and len(state["agents"]) == 2

    def _free(self, state: dict) -> bool:
        return state["params"]["conversation"] == "free"

    def by_strength(self, state: dict) -> list[str]:
        """The navigators, stronger first (role order breaks ties)."""
        strengths, agents = state["params"]["strengths"], state["agents"]
        return sorted(agents, key=lambda n: (-strengths.get(n, 0), agents.index(n)))

    def leader(self, state: dict, turn: int | None = None) -> str:
        """Who leads now: the stronger navigator, or the weaker after the hand-off."""
        ranked = self.by_strength(state)
        handoff = state["params"]["handoff_turn"]
        turn = state["turn"] if turn is None else turn
        return ranked[-1] if self._relay(state) and handoff and turn > handoff else ranked[0]

    def follower(self, state: dict) -> str:
        return next(a for a in state["agents"] if a != self.leader(state))

    def _start_turn(self, state: dict) -> None:
        state["talk_count"] = 0
        state["proposal"] = None
        if self._free(state):
            state["stage"] = "talk"
        elif state["params"]["talk_per_turn"] > 0 and len(state["agents"]) > 1:
            state["stage"] = "talk"
        else:
            state["stage"] = "lead" if self._relay(state) else "act"

    def rules_text(self, state: dict) -> str:
        p = state["params"]
        size = p["size"]
        text = (
            f"You are in a {size}x{size} grid maze (row 0 is north, column 0 is west). Walls (#) block movement. "
            "Move the token (@) to the goal (G) with moves N, S, E or W. "
            f"You have at most {p['max_moves']} turns. "
        )
        if len(state["agents"]) == 1:
            return text + "You see the whole map and move alone."
        a, b = state["agents"]
        text += (
            f"Two navigators share the token: {a} sees the walls in the west half (columns 0-{size // 2 - 1}), "
            f"{b} sees the east half (columns {size // 2}-{size - 1}). Both always see the token and the goal. "
            "Each turn both propose a move; the token moves only if both propose the same move and it does not "
            "run into a wall or the edge (that is a bump, and both then know the wall). You may add a short "
            "message for your partner to each move. "
        )
        if self._free(state):
            text = (
                f"You are in a {size}x{size} grid maze (row 0 is north, column 0 is west). Walls (#) block "
                f"movement. Two navigators must agree on a path that takes the token (@) to the goal (G) with "
                f"moves N, S, E or W: {a} sees the walls in the west half (columns 0-{size // 2 - 1}), {b} the "
                f"east half (columns {size // 2}-{size - 1}). Talk freely, in turns, to agree on the whole path; "
                "the token does not move while you talk. When you both agree on the final path, say DONE. "
                "Afterwards the path you agreed on is played from the start."
            )
        if self._relay(state):
            lead, follow = self.by_strength(state)[0], self.by_strength(state)[-1]
            handoff = state["params"]["handoff_turn"]
            text += f" {lead} leads" + (f" for the first {handoff} turns, then {follow} leads." if handoff else ".")
            if not self._free(state):
                text += " The leader proposes first and the other sees that proposal before answering."
        return text

    def next_step(self, state: dict) -> dict | None:
        stage, agents, turn = state["stage"], state["agents"], state["turn"]
        if stage == "talk" and self._free(state):
            first = self.leader(state)
            other = next(a for a in agents if a != first)
            return {"phase": "talk", "actors": [first if state["talk_count"] % 2 == 0 else other], "round": turn}
        if stage == "grade":
            return {"phase": "act", "actors": [state["params"]["grader_role"]], "simultaneous": False,
                    "round": turn}
        if stage == "talk":
            return {"phase": "talk", "actors": [agents[state["talk_count"] % len(agents)]], "round": turn}
        if stage == "act":
            return {"phase": "act", "actors": list(agents), "simultaneous": True, "round": turn}
        if stage == "lead":
            return {"phase": "act", "actors": [self.leader(state)], "simultaneous": False, "round": turn}
        if stage == "follow":
            return {"phase": "act", "actors": [self.follower(state)], "simultaneous": False, "round": turn}
        return None

    def visible(self, state: dict, role_name: str, r: int, c: int) -> bool:
        agents = state["agents"]
        if len(agents) == 1:
            return True
        west = c < state["params"]["size"] // 2
        return west if role_name == agents[0] else not west

    def knowledge(self, state: dict, role_name: str) -> list[str]:
        """The map as this role knows it: '#' wall, '.' open, '?' unknown."""
        size = state["params"]["size"]
        known_walls = {(r, c) for r, c in state["known_walls"]}
        visited = {(r, c) for r, c in state["visited"]}
        rows = []
        for r in range(size):
            row = ""
            for c in range(size):
                if (r, c) in known_walls:
                    row += "#"
                elif (r, c) in visited or [r, c] == state["goal"] or self.visible(state, role_name, r, c):
                    row += state["grid"][r][c]
                else:
                    row += "?"
            rows.append(row)
        return rows

    def render(self, state: dict, role_name: str) -> str:
        rows = self.knowledge(state, role_name)
        size = state["params"]["size"]
        lines = ["    " + " ".join(str(c) for c in range(size))]
        for r, row in enumerate(rows):
            cells = []
            for c, ch in enumerate(row):
                if [r, c] == state["pos"]:
                    ch = "@"
                elif [r, c] == state["goal"]:
                    ch = "G"
                cells.append(ch)
            lines.append(f"{r:>2}  " + " ".join(cells))
        return "\n".join(lines)

    def observation(self, state: dict, role_name: str) -> str:
        p = state["params"]
        if state["stage"] == "grade" and role_name == p["grader_role"]:
            talk = "\n".join(f"{e['role']}: {e['text']}" for e in state["transcript"] if e["role"] in state["agents"])
            return ("You grade a maze conversation. Extract the sequence of moves (N, S, E, W) the navigators "
                    "finally agreed on, in order, as they would be played from the start. If they agreed on "
                    "nothing, give the last path proposed.\nThe conversation:\n" + (talk or "(nothing said)"))
        if role_name not in state["agents"]:
            return f"{role_name} watches; only {', '.join(state['agents'])} move in this maze."
        lines = [
            f"You are {role_name}. Turn {state['turn']} of {p['max_moves']}.",
            "The map as you know it (@ token, G goal, # wall, . open, ? not visible to you):",
            self.render(state, role_name),
            f"Token at row {state['pos'][0]}, column {state['pos'][1]}; goal at row {state['goal'][0]}, "
            f"column {state['goal'][1]}.",
        ]
        if len(state["agents"]) == 2:
            partner = next(a for a in state["agents"] if a != role_name)
            side = "west" if role_name == state["agents"][0] else "east"
            lines.append(f"You see the {side} half; {partner} sees the other half.")
        if state["log"]:
            last = state["log"][-1]
            said = ", ".join(f"{n} {m}" for n, m in last["proposals"].items())
            lines.append(f"Last turn: {said} -> {last['outcome']}.")
        talk = [e for e in state["transcript"] if e["text"]][-6:]
        if talk:
            lines.append("Recent messages:")
            lines += [f"- turn {e['round']}, {e['role']}: {e['text']}" for e in talk]
        if state["stage"] == "follow" and role_name == self.follower(state) and state["proposal"]:
            lines.append(f"{self.leader(state)} proposes to move {state['proposal']['move']}"
                         + (f": \"{state['proposal']['message']}\"" if state["proposal"].get("message") else "."))
        lines.append("Your turn to speak (free text). Say DONE once you both agree on the final path."
                     if self._free(state) else "Which move do you propose?")
        return "\n".join(lines)

    def action_schema(self, state: dict, role_name: str) -> dict:
        if state["stage"] == "grade":
            return {"type": "object", "properties": {"moves": {
                "type": "array", "maxItems": 500, "items": {"type": "string", "enum": list(MOVES)},
                "description": "The agreed moves, in order."}}, "required": ["moves"]}
        return {
            "type": "object",
            "properties": {
                "move": {"type": "string", "enum": list(MOVES), "description": "N, S, E or W."},
                "message": {"type": "string", "maxLength": 500, "description": "Optional note to your partner."},
            },
            "required": ["move"],
        }

    def default_action(self, state: dict, role_name: str) -> dict:
        if state["stage"] == "grade":
            return {"moves": grade_transcript(state["transcript"], state["agents"])["moves"]}
        return {"move": STAY}

    def plan(self, state: dict, role_name: str) -> list[str] | None:
        """Shortest path on this role's knowledge, unknown cells taken as open."""
        rows = self.knowledge(state, role_name)
        return shortest_path(state["params"]["size"], lambda r, c: rows[r][c] == "#", state["pos"], state["goal"])

    def scripted_action(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> dict:
        if state["stage"] == "grade":
            return {"moves": grade_transcript(state["transcript"], state["agents"])["moves"]}
        if strategy == "random":
            return {"move": rng.choice(list(MOVES))}
        if strategy != "follow_known_path":
            raise ValueError(f"{self.key}: unknown strategy {strategy!r}; known: {', '.join(self.strategies)}")
        agents = state["agents"]
        if state["stage"] == "follow":
            return {"move": state["proposal"]["move"]}
        # Without relay the second agent defers to the first after a disagreement, so the pair cannot deadlock.
        if len(agents) == 2 and state["log"] and state["log"][-1]["outcome"] == "disagree":
            lead = self.leader(state)
            if role_name != lead:
                return {"move": state["log"][-1]["proposals"][lead]}
        path = self.plan(state, role_name)
        move = path[0] if path else rng.choice(list(MOVES))
        return {"move": move, "message": f"I'd go {move}; my map gives {len(path) if path else '?'} steps left."}

    def scripted_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        if self._free(state):
            return self._scripted_free_talk(state, role_name, strategy, rng)
        rows = self.knowledge(state, role_name)
        walls = [f"({r},{c})" for r, row in enumerate(rows) for c, ch in enumerate(row)
                 if ch == "#" and self.visible(state, role_name, r, c)]
        path = self.plan(state, role_name)
        head = f"I'd go {path[0]}." if path else "I see no way through."
        return f"{head} Walls on my side: {', '.join(walls) or 'none'}."

    def _scripted_free_talk(self, state: dict, role_name: str, strategy: str, rng: random.Random) -> str:
        """Share the walls on my side, take in those my partner named, and
        propose the shortest path on what I know; accept a proposal that
        matches mine and say DONE."""
        size = state["params"]["size"]
        mine = [(r, c) for r in range(size) for c in range(size)
                if state["grid"][r][c] == "#" and self.visible(state, role_name, r, c)]
        heard = {(int(r), int(c)) for e in state["transcript"] if e["role"] != role_name
                 for r, c in WALL_NOTE.findall(e["text"])}
        walls = set(mine) | heard
        path = shortest_path(size, lambda r, c: (r, c) in walls, state["pos"], state["goal"]) or []
        if strategy == "random":
            path = [rng.choice(list(MOVES)) for _ in range(len(path) or 4)]
        partner = [e for e in state["transcript"] if e["role"] != role_name and e["role"] in state["agents"]]
        if partner and moves_in(partner[-1]["text"]) == path and path:
            return f"Agreed: {', '.join(path)}. DONE"
        note = ", ".join(f"({r},{c})" for r, c in mine) or "none"
        return f"Walls on my side: {note}. Proposed path: {', '.join(path) or 'none found'}."

    def on_talk(self, state: dict, role_name: str, text: str) -> dict:
        state["transcript"].append({"round": state["turn"], "role": role_name, "text": text})
        state["talk_count"] += 1
        if self._free(state):
            state["turn"] = state["talk_count"] + 1
            if DONE.search(text) or state["talk_count"] >= state["params"]["max_utterances"]:
                if state["params"]["grader_role"]:
                    state["stage"] = "grade"
                else:
                    self._play(state, grade_transcript(state["transcript"], state["agents"]) | {"grader": "rules"})
            return state
        if state["talk_count"] >= state["params"]["talk_per_turn"]:
            state["stage"] = "lead" if self._relay(state) else "act"
        return state

    def _note(self, state: dict, role_name: str, action: dict) -> None:
        if action.get("message"):
            state["transcript"].append({"round": state["turn"], "role": role_name, "text": action["message"]})

    def resolve(self, state: dict, actions: dict[str, dict], rng: random.Random) -> tuple[dict, dict]:
        if state["stage"] == "grade":
            grader = state["params"]["grader_role"]
            rules = grade_transcript(state["transcript"], state["agents"])
            moves = actions[grader]["moves"]
            return state, self._play(state, {"moves": moves, "agreed": rules["agreed"], "grader": grader,
                                             "rules_moves": rules["moves"]})
        for name, action in actions.items():
            self._note(state, name, action)
        if state["stage"] == "lead":
            leader = self.leader(state)
            state["proposal"] = dict(actions[leader])
            state["stage"] = "follow"
            return state, {"turn": state["turn"], "leader": leader, "proposal": actions[leader]["move"]}
        proposals = {name: actions[name]["move"] for name in actions}
        if state["stage"] == "follow":
            proposals = {self.leader(state): state["proposal"]["move"], **proposals}
        return state, self._resolve_turn(state, proposals)

    def _resolve_turn(self, state: dict, proposals: dict[str, str]) -> dict:
        p = state["params"]
        size = p["size"]
        moves = set(proposals.values())
        if STAY in moves:
            outcome = "abstain"
            state["abstentions"] += 1
        elif len(moves) > 1:
            outcome = "disagree"
            state["disagreements"] += 1
        else:
            dr, dc = MOVES[moves.pop()]
            r, c = state["pos"][0] + dr, state["pos"][1] + dc
            if not (0 <= r < size and 0 <= c < size):
                outcome = "bump (edge)"
                state["bumps"] += 1
            elif state["grid"][r][c] == "#":
                outcome = "bump (wall)"
                state["bumps"] += 1
                if [r, c] not in state["known_walls"]:
                    state["known_walls"].append([r, c])
            else:
                outcome = "moved"
                state["moves"] += 1
                state["pos"] = [r, c]
                if [r, c] not in state["visited"]:
                    state["visited"].append([r, c])
        walls = {(r, c) for r in range(size) for c in range(size) if state["grid"][r][c] == "#"}
        distance = len(shortest_path(size, lambda r, c: (r, c) in walls, state["pos"], state["goal"]) or [])
        state["distances"].append(distance)
        record = {"turn": state["turn"], "proposals": proposals, "outcome": outcome, "pos": list(state["pos"]),
                  "distance": distance}
        state["log"].append(record)
        state["turn"] += 1
        if state["pos"] == state["goal"]:
            state["solved"] = True
            self._finish(state, f"reached the goal in {state['turn'] - 1} turns ({state['moves']} moves; "
                                f"optimal {state['optimal']})")
        elif state["turn"] > p["max_moves"]:
            self._finish(state, f"out of turns after {p['max_moves']} without reaching the goal")
        else:
            self._start_turn(state)
        return dict(record)

    def _play(self, state: dict, grade: dict) -> dict:
        """Play extracted moves from the start: bumps stay put; stop at the goal."""
        size = state["params"]["size"]
        pos, played, bumps = list(state["start"]), [], 0
        distances = [len(self._distance_path(state, pos))]
        for move in grade["moves"]:
            dr, dc = MOVES[move]
            r, c = pos[0] + dr, pos[1] + dc
            played.append(move)
            if 0 <= r < size and 0 <= c < size and state["grid"][r][c] != "#":
                pos = [r, c]
                if pos not in state["visited"]:
                    state["visited"].append(list(pos))
            else:
                bumps += 1
            distances.append(len(self._distance_path(state, pos)))
            if pos == state["goal"]:
                break
        state.update({"pos": pos, "bumps": bumps, "moves": len(played) - bumps, "distances": distances,
                      "solved": pos == state["goal"]})
        state["grade"] = {**grade, "played": played}
        self._finish(state, (f"the agreed path reaches the goal in {len(played)} moves (optimal {state['optimal']})"
                             if state["solved"] else f"the agreed path ({len(grade['moves'])} moves) does not reach "
                                                     "the goal"))
        return {"turn": state["turn"], "grade": state["grade"], "solved": state["solved"], "pos": pos}

    def _distance_path(self, state: dict, pos: list[int]) -> list[str]:
        size = state["params"]["size"]
        walls = {(r, c) for r in range(size) for c in range(size) if state["grid"][r][c] == "#"}
        return shortest_path(size, lambda r, c: (r, c) in walls, pos, state["goal"]) or []

    def metrics(self, state: dict) -> dict:
        if self._free(state):
            grade = state.get("grade") or {}
            played = len(grade.get("played", []))
            return {
                "solved": state["solved"],
                "utterances": state["talk_count"],
                "moves": state["moves"],
                "bumps": state["bumps"],
                "agreed": bool(grade.get("agreed")),
                "optimal_length": state["optimal"],
                "path_efficiency": state["optimal"] / played if state["solved"] and played else 0.0,
                "extracted_moves": list(grade.get("moves", [])),
                "grader": grade.get("grader", ""),
                "mode": "free",
                "relay": self._relay(state),
            }
        turns = len(state["log"])
        return {
            "solved": state["solved"],
            "turns": turns,
            "moves": state["moves"],
            "disagreements": state["disagreements"],
            "bumps": state["bumps"],
            "abstentions": state["abstentions"],
            "optimal_length": state["optimal"],
            "path_efficiency": state["optimal"] / turns if state["solved"] and turns else 0.0,
            "mode": state["params"]["mode"],
            "relay": self._relay(state),
        }

    def chart(self, state: dict) -> dict:
        return {
            "type": "line",
            "title": "Distance to the goal (steps) after each turn",
            "x": list(range(len(state["distances"]))),
            "series": [{"name": "Distance to goal", "values": list(state["distances"])}],
        }
