"""One error hierarchy, answered by class: input errors are the client's (400 naming the field, CLI exit 2),
chain failures are ours (502, or 503 when they may pass, never naming the endpoint), and so on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from defiscope.api import errors
from defiscope.chain.errors import ChainError, InvalidInput, RequestTimeout, RpcError
from defiscope.chain.registry import get_chain
from defiscope.cli.common import one_line_errors
from defiscope.errors import DefiscopeError, InputError
from defiscope.protocols.base import AdapterError
from defiscope.store.errors import DatabaseUnavailableError, StoreError

SECRET_URL = "https://eth.example/v2/SECRET-KEY"

RAISED: dict[str, DefiscopeError] = {
    "input": InputError("limit must be 1 to 500, got 0", field="limit"),
    "invalid": InvalidInput("invalid block 'soon': expected a block number", chain_id=1),
    "timeout": RequestTimeout("no answer within 5.0 s", endpoint=SECRET_URL, chain_id=1, call="eth_call"),
    "rpc": RpcError(f"header not found at {SECRET_URL}", code=-32000, endpoint=SECRET_URL, chain_id=1),
    "adapter": AdapterError("uniswap-v2: allPairsLength() failed on chain 1"),
    "store": DatabaseUnavailableError("cannot open postgresql://bob:***@db/defiscope"),
    "other": DefiscopeError("something of ours"),
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/raise/{name}")
    async def _raise(name: str) -> None:
        raise RAISED[name]

    return TestClient(app)


def test_a_locked_database_is_a_503_to_retry_not_a_500(tmp_path: Path) -> None:
    """A real SQLite lock: another connection holds the write lock, and the handler's write gives up at once."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    holder = sa.create_engine(url)
    writer = sa.create_engine(url, connect_args={"timeout": 0})
    with holder.begin() as held:
        held.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    app = FastAPI()
    errors.install(app)

    @app.post("/write")
    def _write() -> None:
        with writer.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))

    with holder.connect() as held:
        held.exec_driver_sql("BEGIN EXCLUSIVE")
        answer = TestClient(app).post("/write")
        held.exec_driver_sql("ROLLBACK")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    problem = answer.json()["error"]["problem"]
    assert problem.startswith("the store is busy or unavailable; try again (error id ")
    assert "INSERT" not in answer.text  # the statement is logged, not sent
    assert TestClient(app).post("/write").status_code == 200  # once the lock is gone, the same write succeeds


def test_input_errors_are_not_chain_errors() -> None:
    assert issubclass(InvalidInput, InputError)
    assert not issubclass(InvalidInput, ChainError)
    assert issubclass(InvalidInput, ValueError)  # callers that validate with ValueError still catch it
    for family in (InputError, ChainError, AdapterError, StoreError):
        assert issubclass(family, DefiscopeError)
    with pytest.raises(InputError, match="unknown chain 'moon'"):
        get_chain("moon")  # what the chain layer rejects of its caller is an input error


def test_an_input_error_is_a_400_naming_its_field(client: TestClient) -> None:
    answer = client.get("/raise/input")
    assert answer.status_code == 400
    assert answer.json() == {"error": {"field": "limit", "problem": "limit must be 1 to 500, got 0"}}
    invalid = client.get("/raise/invalid")
    assert invalid.status_code == 400
    assert invalid.json()["error"]["problem"] == "invalid block 'soon': expected a block number [chain 1]"


@pytest.mark.parametrize(("name", "status"), [("timeout", 503), ("rpc", 502)])
def test_a_chain_error_is_a_502_or_503_without_the_endpoint(client: TestClient, name: str, status: int) -> None:
    answer = client.get(f"/raise/{name}")
    assert answer.status_code == status
    problem = answer.json()["error"]["problem"]
    assert problem.startswith("chain 1 RPC failed: ")
    assert "SECRET" not in answer.text
    assert "/v2/" not in answer.text
    assert "error id" in problem


@pytest.mark.parametrize(("name", "status"), [("adapter", 502), ("store", 503), ("other", 500)])
def test_other_failures_answer_by_class_with_an_error_id(client: TestClient, name: str, status: int) -> None:
    answer = client.get(f"/raise/{name}")
    assert answer.status_code == status
    assert "error id" in answer.json()["error"]["problem"]
    assert str(RAISED[name]) not in answer.text  # the detail is logged, not sent


def test_the_cli_prints_an_input_error_as_one_line_exit_2() -> None:
    app = typer.Typer()

    @app.command()
    @one_line_errors
    def bad(block: str = "soon") -> None:
        raise InvalidInput(f"invalid block {block!r}: expected a block number", chain_id=1)

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert result.stderr == "error: invalid block 'soon': expected a block number [chain 1]\n"
