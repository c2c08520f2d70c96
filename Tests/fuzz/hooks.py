"""Schemathesis hooks for Tests/fuzz/schemathesis.sh: point part of the generated requests at real things.

Random 64-hex URL tokens, endpoint names and session ids only ever reach `404 unknown_endpoint`, so the
fuzzing phase would never get past the first check of a route. These hooks leave every generated value
possible and add, as equally likely alternatives, the values of the throwaway deployment the script
started (passed in environment variables), so the validation, turn and store code gets fuzzed too:

- `PARLEY_FUZZ_TOKENS`: the URL tokens of its endpoints (comma-separated), for `{urlToken}` and `?URLToken=`;
- `PARLEY_FUZZ_ENDPOINTS`: its endpoint names, for `{name}` and `{endpoint}` and `?endpoint=`;
- `PARLEY_FUZZ_SESSIONS`: `endpoint/userId/sessionId` triples of sessions it created before the run;
- `PARLEY_FUZZ_API_KEY`: an active key of its `auth: apiKey` endpoint, for `X-Webhook-Key`.

A voice-shaped body sent to one of the deployment's tokens goes to the voice copilot endpoint
(`PARLEY_FUZZ_VOICE_TOKEN`), the only one that reads those fields: always for a `JambonzTranscription` (any
other endpoint answers it `400` at its first field), for half of the `VoiceUtterance`s (chosen by a checksum
of the body, so a seed still gives one run; the other half checks that other endpoints ignore `speaker`).

One more alternative for bodies: every number in a generated JSON body may be replaced by a number at the edge
of what a 64-bit integer holds or far beyond it (JSON numbers are unbounded; a parser that reads them as
doubles and converts them to Int without a range check traps on them, which kills the whole server).

The spec itself stays as real users read it; nothing here changes what a response is checked against. The
custom check at the end adds one check, from DESIGN §5.2, that the spec cannot express.
"""

import json
import os
import zlib

import schemathesis
from hypothesis import strategies as st


def _list(name):
    return [item for item in os.environ.get(name, "").split(",") if item]


TOKENS = _list("PARLEY_FUZZ_TOKENS")
ENDPOINTS = _list("PARLEY_FUZZ_ENDPOINTS")
SESSIONS = [tuple(item.split("/", 2)) for item in _list("PARLEY_FUZZ_SESSIONS")]
API_KEY = os.environ.get("PARLEY_FUZZ_API_KEY", "")
VOICE_TOKEN = os.environ.get("PARLEY_FUZZ_VOICE_TOKEN", "")


def _alternatives(value, key, choices):
    return [{**value, key: choice} for choice in choices]


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    options = [path_parameters]
    if "urlToken" in path_parameters:
        options += _alternatives(path_parameters, "urlToken", TOKENS)
    if "name" in path_parameters:
        options += _alternatives(path_parameters, "name", ENDPOINTS)
    if {"endpoint", "userId", "sessionId"} <= path_parameters.keys():
        options += [
            {**path_parameters, "endpoint": endpoint, "userId": user, "sessionId": session}
            for endpoint, user, session in SESSIONS
        ]
    return st.sampled_from(options)


@schemathesis.hook
def flatmap_query(context, query):
    if not isinstance(query, dict):
        return st.just(query)
    options = [query]
    if "URLToken" in query:
        options += _alternatives(query, "URLToken", TOKENS)
    if "endpoint" in query:
        options += _alternatives(query, "endpoint", ENDPOINTS)
    return st.sampled_from(options)


@schemathesis.hook
def flatmap_headers(context, headers):
    takes_key = context.operation is not None and "{urlToken}" in context.operation.path
    if not takes_key or not API_KEY or not (headers is None or isinstance(headers, dict)):
        return st.just(headers)
    return st.sampled_from([headers, {**(headers or {}), "X-Webhook-Key": API_KEY}])


# 2^63 - 1 is a valid int64 but rounds up to 2^63 as a double.
EXTREME_NUMBERS = [9223372036854775807, 9223372036854775808, -9223372036854775809, 1e300, -1e300]


def _number_paths(value, path=()):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _number_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _number_paths(item, path + (index,))


def _replaced(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [_replaced(item, rest, new) if index == head else item for index, item in enumerate(value)]


@schemathesis.hook
def flatmap_body(context, body):
    paths = list(_number_paths(body)) if isinstance(body, (dict, list)) else []
    if not paths:
        return st.just(body)
    return st.one_of(
        st.just(body),
        st.tuples(st.sampled_from(paths), st.sampled_from(EXTREME_NUMBERS)).map(lambda pick: _replaced(body, *pick)),
    )


@schemathesis.hook
def map_case(context, case):
    body = case.body
    token = (case.path_parameters or {}).get("urlToken")
    if not isinstance(body, dict) or not VOICE_TOKEN or token not in TOKENS or token == VOICE_TOKEN:
        return case
    jambonz = "call_sid" in body or "speech" in body
    utterance = "speaker" in body and zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) % 2 == 0
    if jambonz or utterance:
        case.path_parameters = {**case.path_parameters, "urlToken": VOICE_TOKEN}
    return case


@schemathesis.check
def rest_answer_names_the_request_session(ctx, response, case):
    """A REST endpoint's `200` names the session the request was for (DESIGN §5.2): its `userId` and
    `sessionId` are the request's, character for character."""
    if case.operation.path != "/{urlToken}" or case.method.upper() != "POST" or response.status_code != 200:
        return None
    body, answer = case.body, response.json()
    if not isinstance(body, dict) or not isinstance(answer, dict):
        return None
    for field in ("userId", "sessionId"):
        if isinstance(body.get(field), str) and answer.get(field) != body[field]:
            raise AssertionError(f"the answer's {field} is {answer.get(field)!r}, the request's {body[field]!r}")
    return None
