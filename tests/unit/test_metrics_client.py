"""The VictoriaMetrics client against a mock transport: results, a rejected
query, and every way of not getting an answer."""

from __future__ import annotations

import httpx
import pytest

from metrics.client import Sample, Series, VictoriaMetrics
from metrics.errors import MetricsUnavailable, QueryError


def client(handler: httpx.MockTransport, retries: int = 2) -> VictoriaMetrics:
    return VictoriaMetrics(
        "http://user:secret@vm:8428/", retries=retries, retry_pause=0.0, transport=handler
    )


async def test_instant_and_range_results() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/query":
            data = {
                "resultType": "vector",
                "result": [{"metric": {"pod": "a"}, "value": [10, "1.5e+06"]}],
            }
        else:
            data = {
                "resultType": "matrix",
                "result": [{"metric": {"pod": "a"}, "values": [[60, "0.5"], [120, "1"]]}],
            }
        return httpx.Response(200, json={"status": "success", "data": data})

    async with client(httpx.MockTransport(answer)) as vm:
        assert await vm.query("up", at=10) == [Sample({"pod": "a"}, 10.0, 1.5e6, "1.5e+06")]
        assert await vm.query_range("up", 60, 120.5, 60) == [
            Series({"pod": "a"}, [(60.0, 0.5), (120.0, 1.0)])
        ]
    assert dict(seen[0].url.params) == {"query": "up", "time": "10"}
    assert dict(seen[1].url.params) == {"query": "up", "start": "60", "end": "120.5", "step": "60"}


async def test_a_rejected_query_carries_the_servers_message() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"status": "error", "error": 'unparsed data: "("'})

    async with client(httpx.MockTransport(answer)) as vm:
        with pytest.raises(QueryError) as raised:
            await vm.query("sum(")
    assert str(raised.value) == 'VictoriaMetrics rejected the query: unparsed data: "("'
    assert raised.value.status == 422


async def test_connection_errors_are_retried_then_reported_without_credentials() -> None:
    attempts = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("refused", request=request)

    async with client(httpx.MockTransport(answer), retries=2) as vm:
        with pytest.raises(MetricsUnavailable) as raised:
            await vm.query("up")
    assert attempts == 3
    assert str(raised.value) == "VictoriaMetrics at http://vm:8428 is unreachable (ConnectError)"


async def test_a_connection_error_then_success() -> None:
    attempts = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "vector", "result": []}}
        )

    async with client(httpx.MockTransport(answer)) as vm:
        assert await vm.query("up") == []
    assert attempts == 2


async def test_timeouts_are_not_retried() -> None:
    attempts = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ReadTimeout("slow", request=request)

    async with client(httpx.MockTransport(answer)) as vm:
        with pytest.raises(MetricsUnavailable, match=r"is unreachable \(timed out\)"):
            await vm.query("up")
    assert attempts == 1


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(503, text="overloaded"), "answered 503: overloaded"),
        (httpx.Response(200, text="<html>"), "answered something that is not JSON"),
        (httpx.Response(200, json={"status": "error"}), "answered without success"),
        (
            httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix"}}),
            "answered a 'matrix' result to an instant query",
        ),
        (
            httpx.Response(
                200,
                json={"status": "success", "data": {"resultType": "vector", "result": [{}]}},
            ),
            r"unexpected result shape \(KeyError\)",
        ),
    ],
)
async def test_bad_answers_are_unavailable(response: httpx.Response, message: str) -> None:
    async with client(httpx.MockTransport(lambda request: response)) as vm:
        with pytest.raises(MetricsUnavailable, match=message):
            await vm.query("up")
