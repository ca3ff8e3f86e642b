"""The entity-state layout is declared once: its keys appear as string literals in stateful/memory.py only.

``EntityState.data``'s top-level keys and each pattern's slot keys are read from memory.py itself (its
``Final`` string constants and the fields of its TypedDicts), so a key added there is checked here
without editing this test. Every other module of shared/ reads and writes state through those names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEMORY = ROOT / "shared" / "rules" / "stateful" / "memory.py"

#: Literals that equal a state key but name something else, with how often each module writes them.
#: Counted, so a state key slipped into one of these modules still fails. When you add a literal
#: that is not a state key (a unit, a JSON field of an API), add it here with the reason.
OTHER_MEANINGS: dict[tuple[str, str], int] = {
    ("shared/actions/webhook/signing.py", "t"): 1,  # the signature header's timestamp part
    ("shared/telemetry/metrics.py", "s"): 4,  # the unit of a histogram or gauge (seconds)
    ("shared/rules/language/durations.py", "s"): 1,  # duration unit letters
    ("shared/rules/language/durations.py", "d"): 1,
    ("shared/rules/explain/models.py", "fired"): 1,  # explain's JSON output: the verdict
    ("shared/rules/explain/state.py", "due"): 1,  # explain's JSON output: an absence's details
    ("shared/rules/explain/state.py", "since"): 1,  # explain's JSON output: a machine's details
    ("shared/rules/explain/state.py", "held"): 1,  # explain's JSON output: re-arm's details
    ("shared/rules/authoring/lint.py", "since"): 1,  # the rule language's part: state.<machine>.since
    ("shared/rules/authoring/loader.py", "rules"): 4,  # a rule file's top-level key
    ("shared/rules_admin/admin.py", "rules"): 2,  # the admin API's request body
    ("shared/rules_admin/dry_run_request.py", "rules"): 2,  # the dry-run API's request body
    ("shared/settings.py", "rules"): 1,  # the default rule-set container name
    ("shared/store/cosmos_containers.py", "rules"): 2,  # the Cosmos container name
    ("shared/store/cosmos_rules.py", "rules"): 2,  # the stored rule-set document's field
}


def declared_keys() -> tuple[dict[str, str], dict[str, set[str]]]:
    """memory.py's ``Final`` string constants (name -> key) and its TypedDicts (class -> field names)."""
    tree = ast.parse(MEMORY.read_text())
    constants: dict[str, str] = {}
    typed_dicts: dict[str, set[str]] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _is_final(node.annotation)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            constants[node.target.id] = node.value.value
        elif isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and (base.id == "TypedDict" or base.id in typed_dicts) for base in node.bases
        ):
            typed_dicts[node.name] = {
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
    return constants, typed_dicts


def _is_final(annotation: ast.expr) -> bool:
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return (isinstance(target, ast.Name) and target.id == "Final") or (
        isinstance(target, ast.Attribute) and target.attr == "Final"
    )


def state_keys() -> set[str]:
    constants, typed_dicts = declared_keys()
    return set(constants.values()) | {field for fields in typed_dicts.values() for field in fields}


def string_literals(source: str) -> list[tuple[str, int]]:
    """(text, line) of every string literal that is not a docstring nor a piece of an f-string."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in ast.walk(node) if isinstance(part, ast.Constant))
    return [
        (node.value, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def literal_keys_outside_memory(keys: set[str]) -> dict[tuple[str, str], list[int]]:
    """(module, key) -> the lines where a module of shared/ other than memory.py writes a key as a literal."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if path == MEMORY:
            continue
        module = path.relative_to(ROOT).as_posix()
        for text, line in string_literals(path.read_text()):
            if text in keys:
                found.setdefault((module, text), []).append(line)
    return found


def test_memory_declares_every_slot_key_once_as_a_type_and_a_constant() -> None:
    # GIVEN memory.py's TypedDicts and Final constants
    constants, typed_dicts = declared_keys()
    fields = {field for names in typed_dicts.values() for field in names}
    # THEN every top-level key and every pattern's slot is typed, each field has a constant, and each
    # constant names a field (two slots may use the same short key: "s" is a sum and a machine's state)
    assert {
        "EntityData", "RuleSlot", "SlidingWindowSlot", "TumblingWindowSlot", "TumblingBucket",
        "SequenceSlot", "AbsenceSlot", "MachineSlot",
    } <= typed_dicts.keys()  # fmt: skip
    assert fields == set(constants.values())


def test_state_keys_appear_as_string_literals_in_memory_py_only() -> None:
    # GIVEN the entity-state keys memory.py declares
    keys = state_keys()
    # WHEN every other module of shared/ is scanned for string literals equal to one
    found = literal_keys_outside_memory(keys)
    # THEN each one is a known literal of another meaning, as often as listed
    unexpected = {
        f"{module}:{','.join(map(str, lines))} {text!r}": len(lines)
        for (module, text), lines in found.items()
        if len(lines) != OTHER_MEANINGS.get((module, text), 0)
    }
    assert unexpected == {}, (
        "entity-state keys written as literals outside shared/rules/stateful/memory.py: import its constant "
        "and TypedDict instead (or, when the literal means something else, list it in OTHER_MEANINGS)"
    )
    stale = sorted(f"{module} {text!r}" for module, text in OTHER_MEANINGS.keys() - found.keys())
    assert stale == [], "OTHER_MEANINGS lists literals that are gone: remove them"


def test_the_scan_finds_a_slot_key_written_as_a_literal() -> None:
    # GIVEN a pattern that indexes its slot with a literal  WHEN scanned  THEN the key is found
    source = 'def observe(slot):\n    """Docstring "r" is prose."""\n    slot["r"] = [f"{1}s"]\n'
    assert [found for found in string_literals(source) if found[0] in state_keys()] == [("r", 3)]
