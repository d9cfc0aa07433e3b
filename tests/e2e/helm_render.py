"""A small renderer of Helm templates, for the chart's tests without helm (which Debian does
not package). It knows Go's text/template syntax (actions with {{- -}} trimming, if / else
if / else / with / range / end, pipelines, parenthesised calls, variables, $) and only the
functions and named templates the tested templates use; anything else raises
UnknownAction, so a changed template is rendered faithfully or refused, never guessed.

    render(text, values, files={"files/x": "..."}, release="kg", namespace="data")
"""
import json
import re

import yaml


class UnknownAction(Exception):
    pass


class TemplateFail(Exception):
    """A template's `fail` or `required`: helm would refuse to render."""


TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||:=|=|\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*'
                   r'|\.[A-Za-z0-9_.]*|-?[0-9]+|true|false|nil|[A-Za-z_][A-Za-z0-9_]*)')


def _split_actions(text):
    parts, pos = [], 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(("text", text[pos:]))
            return parts
        end = text.find("}}", start)
        if end < 0:
            raise UnknownAction("unclosed {{")
        parts.append(("text", text[pos:start]))
        body = text[start + 2:end]
        ltrim, rtrim = body.startswith("-"), body.endswith("-")
        body = body[1:] if ltrim else body
        body = body[:-1] if rtrim else body
        parts.append(("action", body.strip(), ltrim, rtrim))
        pos = end + 2
    

def _trimmed(parts):
    out = []
    for i, part in enumerate(parts):
        if part[0] == "text":
            t = part[1]
            if i > 0 and parts[i - 1][0] == "action" and parts[i - 1][3]:
                t = t.lstrip()
            if i + 1 < len(parts) and parts[i + 1][0] == "action" and parts[i + 1][2]:
                t = t.rstrip()
            out.append(("text", t))
        elif not part[1].startswith("/*"):
            out.append(("action", part[1]))
    return out


def _parse(parts):
    """Nested blocks: ("text", t) | ("expr", body) | ("if", [(cond, body)...], else) |
    ("with", expr, body, else) | ("range", vars, expr, body) | ("define", name, body)."""
    pos = 0

    def block(stop):
        nonlocal pos
        nodes = []
        while pos < len(parts):
            part = parts[pos]
            pos += 1
            if part[0] == "text":
                nodes.append(part)
                continue
            body = part[1]
            word = body.split(None, 1)[0] if body else ""
            if word in stop:
                return nodes, body
            if word == "if":
                branches, otherwise = [(body[2:].strip(), None)], None
                inner, ender = block({"else", "end"})
                branches[0] = (branches[0][0], inner)
                while ender.startswith("else"):
                    rest = ender[4:].strip()
                    inner, next_ender = block({"else", "end"})
                    if rest.startswith("if "):
                        branches.append((rest[3:].strip(), inner))
                    else:
                        otherwise = inner
                    ender = next_ender
                nodes.append(("if", branches, otherwise))
            elif word == "with":
                inner, ender = block({"else", "end"})
                otherwise = None
                if ender == "else":
                    otherwise, _ = block({"end"})
                nodes.append(("with", body[4:].strip(), inner, otherwise))
            elif word == "range":
                m = re.fullmatch(r"range\s+(?:(\$\w+)\s*:=\s*)?(.+)", body, re.S)
                inner, _ = block({"end"})
                nodes.append(("range", m.group(1), m.group(2), inner))
            elif word == "define":
                name = json.loads(body[6:].strip())
                inner, _ = block({"end"})
                nodes.append(("define", name, inner))
            elif word in ("else", "end"):
                raise UnknownAction(f"unexpected {word}")
            else:
                nodes.append(("expr", body))
        return nodes, None

    nodes, _ = block(set())
    return nodes


def _to_yaml(value):
    if value in (None, {}, []):
        return {None: "null", dict: "{}", list: "[]"}.get(type(value) if value is not None else None, "null")
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _truthy(v):
    return bool(v) and v != 0


class Scope(dict):
    """Variables of one block; `=` assigns to the block that declared the variable (as Go's
    text/template does), `:=` declares in this one."""

    def __init__(self, parent=None, **initial):
        super().__init__(parent or {}, **initial)
        self.parent = parent

    def assign(self, name, value):
        scope = self
        while scope is not None:
            if dict.__contains__(scope, name):
                dict.__setitem__(scope, name, value)
            scope = scope.parent


class Renderer:
    def __init__(self, values, files=None, release="kg", namespace="data", chart=None):
        self.root = {"Values": values, "Release": {"Name": release, "Namespace": namespace,
                                                   "Service": "Helm"},
                     "Chart": chart or {"Name": "keygate", "Version": "0.1.0", "AppVersion": "0.1.0"},
                     "Files": {"__files__": files or {}}}
        self.templates = {}

    # --- named templates the chart's objects include ----------------------------------
    def include(self, name, ctx):
        if name in self.templates:
            return self._run(self.templates[name], ctx, Scope(None, **{"$": ctx}))
        raise UnknownAction(f"include {name!r}")

    def define(self, text):
        for node in _parse(_trimmed(_split_actions(text))):
            if node[0] == "define":
                self.templates[node[1]] = node[2]

    # --- expressions ----------------------------------------------------------------------
    def _tokens(self, body):
        tokens, pos = [], 0
        body = body.strip()
        while pos < len(body):
            m = TOKEN.match(body, pos)
            if not m or m.end() == pos:
                raise UnknownAction(f"cannot read {body[pos:]!r}")
            tokens.append(m.group(1))
            pos = m.end()
            while pos < len(body) and body[pos].isspace():
                pos += 1
        return tokens

    def _field(self, base, path):
        node = base
        for part in [p for p in path.split(".") if p]:
            if isinstance(node, dict) and "__files__" in node and part == "Get":
                return lambda name: node["__files__"][name]
            if not isinstance(node, dict):
                raise UnknownAction(f"field {part} of a non-map")
            node = node.get(part)
        return node

    def _term(self, tokens, dot, scope):
        t = tokens.pop(0)
        if t == "(":
            value = self._pipeline(tokens, dot, scope, close=True)
            return value
        if t.startswith('"'):
            return json.loads(t)
        if t.startswith("`"):
            return t[1:-1]
        if re.fullmatch(r"-?[0-9]+", t):
            return int(t)
        if t in ("true", "false"):
            return t == "true"
        if t == "nil":
            return None
        if t.startswith("$"):
            name, _, path = t.partition(".")
            if name not in scope:
                raise UnknownAction(f"undefined variable {name}")
            return self._field(scope[name], path)
        if t.startswith("."):
            return self._field(dot, t[1:])
        raise UnknownAction(f"{t} used as a value")

    FUNCS = {"toYaml", "nindent", "indent", "quote", "int", "gt", "lt", "eq", "ne", "and", "or",
             "not", "ternary", "default", "printf", "trunc", "trimSuffix", "fail", "required",
             "include", "toJson", "list", "dict", "concat", "get", "contains", "replace",
             "hasKey", "set"}

    def _call(self, name, args):
        if name == "toYaml":
            return _to_yaml(args[0])
        if name in ("nindent", "indent"):
            pad = " " * args[0]
            text = "\n".join(pad + line if line else line for line in str(args[1]).split("\n"))
            return "\n" + text if name == "nindent" else text
        if name == "quote":
            return json.dumps("" if args[0] is None else str(args[0]))
        if name == "int":
            return int(args[0] or 0)
        if name in ("gt", "lt"):
            return args[0] > args[1] if name == "gt" else args[0] < args[1]
        if name in ("eq", "ne"):
            return (args[0] == args[1]) == (name == "eq")
        if name == "and":
            result = True
            for a in args:
                result = a
                if not _truthy(a):
                    return a
            return result
        if name == "or":
            for a in args:
                if _truthy(a):
                    return a
            return args[-1]
        if name == "not":
            return not _truthy(args[0])
        if name == "ternary":
            return args[0] if _truthy(args[2]) else args[1]
        if name == "default":
            return args[1] if _truthy(args[1]) else args[0]
        if name == "printf":
            fmt = re.sub(r"%[dsq]", lambda m: {"%d": "%d", "%s": "%s", "%q": "%s"}[m.group(0)], args[0])
            return fmt % tuple(json.dumps(a) if "%q" in args[0] else a for a in args[1:])
        if name == "trunc":
            return args[1][:args[0]]
        if name == "trimSuffix":
            return args[1][:-len(args[0])] if args[0] and args[1].endswith(args[0]) else args[1]
        if name == "fail":
            raise TemplateFail(args[0])
        if name == "required":
            if not _truthy(args[1]):
                raise TemplateFail(args[0])
            return args[1]
        if name == "toJson":
            return json.dumps(args[0], separators=(",", ":"))
        if name == "list":
            return list(args)
        if name == "dict":
            return dict(zip(args[::2], args[1::2]))
        if name == "concat":
            return [x for a in args for x in (a or [])]
        if name == "get":
            return args[0].get(args[1], "")
        if name == "contains":
            return args[0] in args[1]
        if name == "replace":
            return args[2].replace(args[0], args[1])
        if name == "hasKey":
            return args[1] in args[0]
        if name == "set":
            args[0][args[1]] = args[2]
            return args[0]
        raise UnknownAction(name)

    def _command(self, tokens, dot, scope, piped):
        """One command of a pipeline; `piped` is the previous command's value (or a marker)."""
        first = tokens[0]
        if first in self.FUNCS or first == "include":
            tokens.pop(0)
            args = []
            while tokens and tokens[0] not in ("|", ")"):
                args.append(self._term(tokens, dot, scope))
            if piped is not _NOTHING:
                args.append(piped)
            if first == "include":
                return self.include(args[0], args[1])
            return self._call(first, args)
        value = self._term(tokens, dot, scope)
        if callable(value):  # .Files.Get "name"
            args = []
            while tokens and tokens[0] not in ("|", ")"):
                args.append(self._term(tokens, dot, scope))
            return value(*args)
        if tokens and tokens[0] not in ("|", ")"):
            raise UnknownAction(f"{first} takes no arguments")
        return value

    def _pipeline(self, tokens, dot, scope, close=False):
        value = _NOTHING
        while True:
            value = self._command(tokens, dot, scope, value)
            if not tokens:
                if close:
                    raise UnknownAction("missing )")
                return value
            t = tokens.pop(0)
            if t == ")" and close:
                return value
            if t != "|":
                raise UnknownAction(f"unexpected {t}")

    def evaluate(self, body, dot, scope):
        tokens = self._tokens(body)
        if len(tokens) >= 2 and tokens[0].startswith("$") and tokens[1] in (":=", "="):
            name = tokens[0]
            value = self._pipeline(tokens[2:], dot, scope)
            if tokens[1] == "=":
                if name not in scope:
                    raise UnknownAction(f"assignment to undefined {name}")
                scope.assign(name, value)
            else:
                scope[name] = value
            return None
        return self._pipeline(tokens, dot, scope)

    # --- blocks ---------------------------------------------------------------------------
    def _run(self, nodes, dot, scope):
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "expr":
                value = self.evaluate(node[1], dot, scope)
                if value is not None:
                    out.append(value if isinstance(value, str) else
                               ("true" if value is True else "false" if value is False else str(value)))
            elif kind == "if":
                for cond, body in node[1]:
                    if _truthy(self.evaluate(cond, dot, scope)):
                        out.append(self._run(body, dot, Scope(scope)))
                        break
                else:
                    if node[2] is not None:
                        out.append(self._run(node[2], dot, Scope(scope)))
            elif kind == "with":
                value = self.evaluate(node[1], dot, scope)
                if _truthy(value):
                    out.append(self._run(node[2], value, Scope(scope)))
                elif node[3] is not None:
                    out.append(self._run(node[3], dot, Scope(scope)))
            elif kind == "range":
                for item in self.evaluate(node[2], dot, scope) or []:
                    inner = Scope(scope)
                    if node[1]:
                        inner[node[1]] = item
                    out.append(self._run(node[3], item, inner))
            elif kind == "define":
                pass
        return "".join(out)

    def render(self, text):
        nodes = _parse(_trimmed(_split_actions(text)))
        return self._run(nodes, self.root, Scope(None, **{"$": self.root}))


_NOTHING = object()


def render(text, values, helpers="", files=None, release="kg", namespace="data"):
    """Renders one template with values (the merged values.yaml); `helpers` is the text of
    _helpers.tpl, whose defines the template may include. Returns the output text."""
    r = Renderer(values, files, release, namespace)
    if helpers:
        r.define(helpers)
    return r.render(text)
