"""deploy/: real schema validators, the checks that matter beyond the schema, and the production
endpoints file against the real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
import yaml
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain

from bot.stores.recent_history import RecentHistorySQLTrackerStore
from tests.conftest import ROOT
from tests.support.fake_webhook import running_fake_webhook
from tests.support.postgres import temporary_database
from tests.support.servers import test_environment

DEPLOY = ROOT / "deploy"
TOOLS = ROOT / ".venv-tools" / "bin"
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|DB_URL|DATABASE_URL|REDIS_URL|ACCOUNT_SID")


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] == kind]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


@pytest.fixture(scope="module")
def validated() -> str:
    """`make deploy-validate`: creates .venv-tools if missing, runs both validators."""
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy-validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_manifests_and_compose_pass_the_real_validators(validated: str) -> None:
    assert "valid for Kubernetes 1.30.0 (strict)" in validated
    assert "valid for Kubernetes 1.37.0 (strict)" in validated
    assert "ok -- validation done" in validated  # check-jsonschema, compose-spec


def test_the_validators_reject_a_misspelt_field(validated: str, tmp_path: Path) -> None:
    deployment = next(yaml.safe_load_all((DEPLOY / "kubernetes" / "30-actions.yaml").read_text()))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    result = subprocess.run(
        [TOOLS / "kubernetes-validate", "--strict", str(broken)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "replica" in result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    compose["services"]["redis"]["healthchek"] = compose["services"]["redis"].pop("healthcheck")
    broken_compose = tmp_path / "docker-compose.yml"
    broken_compose.write_text(yaml.safe_dump(compose))
    result = subprocess.run(
        [
            TOOLS / "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(broken_compose),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "healthchek" in result.stdout + result.stderr


def test_every_deployment_has_probes_resources_and_runs_unprivileged() -> None:
    deployments = of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "rasa",
        "actions",
        "delivery-worker",
        "console",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in containers(deployment):
            name = f"{deployment['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container and "readinessProbe" in container, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert not container["image"].endswith(":latest"), name


def test_replicas_and_health_endpoints() -> None:
    by_name = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert by_name["rasa"]["spec"]["replicas"] >= 2
    assert by_name["actions"]["spec"]["replicas"] >= 2

    def probe_path(name: str, probe: str) -> str:
        return str(containers(by_name[name])[0][probe]["httpGet"]["path"])

    assert probe_path("rasa", "livenessProbe") == "/"
    assert probe_path("rasa", "readinessProbe") == "/webhooks/patients/health"
    assert probe_path("actions", "readinessProbe") == "/health"
    assert probe_path("console", "readinessProbe") == "/health"
    worker = containers(by_name["delivery-worker"])[0]
    assert worker["livenessProbe"]["exec"]["command"][:4] == [
        "python",
        "-m",
        "actions.delivery",
        "--check-heartbeat",
    ]


def test_services_select_their_deployments() -> None:
    labels = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in of_kind("Deployment")
    }
    for service in of_kind("Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= pod.items() for pod in labels.values()), service


def test_network_policy_keeps_the_action_server_for_rasa_only() -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind("NetworkPolicy")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    [actions] = [
        p
        for p in policies.values()
        if p["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": "actions"}
    ]
    assert actions["policyTypes"] == ["Ingress"]
    [rule] = actions["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rasa"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5055}]
    [rasa] = [
        p
        for p in policies.values()
        if p["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": "rasa"}
    ]
    sources = [source for rule in rasa["ingress"] for source in rule["from"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "console"}}} in sources
    assert all("ipBlock" not in source for source in sources)


def test_ingress_routes_only_the_patient_channels_with_sticky_websockets() -> None:
    [bot] = [i for i in of_kind("Ingress") if i["metadata"]["name"] == "bot"]
    annotations = bot["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    paths = {p["path"] for rule in bot["spec"]["rules"] for p in rule["http"]["paths"]}
    assert "/socket.io/" in paths and "/webhooks/whatsapp/" in paths
    assert not any(p in {"/", "/conversations", "/model", "/webhooks/patients/"} for p in paths)
    assert bot["spec"]["tls"]


def test_no_secret_value_is_committed() -> None:
    assert of_kind("Secret") == []
    for deployment in of_kind("Deployment"):
        for container in containers(deployment):
            for variable in container.get("env", []):
                if SECRET_NAMES.search(variable["name"]):
                    assert "value" not in variable, variable
                    assert variable["valueFrom"]["secretKeyRef"]["name"] == "hfs-secrets"
    for config_map in of_kind("ConfigMap"):
        for key in config_map["data"]:
            assert not SECRET_NAMES.search(key), key
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAMES.search(key) and value:
                assert "${" in str(value), (name, key)  # from the host's environment only


def test_every_secret_key_is_in_the_documented_kubectl_command() -> None:
    keys = {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for deployment in of_kind("Deployment")
        for container in containers(deployment)
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    guide = (ROOT / "docs" / "deploy.md").read_text()
    command = guide[guide.index("create secret generic hfs-secrets") :]
    command = command[: command.index("```")]
    assert {key for key in keys if f"--from-literal={key}=" not in command} == set()


def test_the_config_map_carries_the_production_endpoints_file() -> None:
    [endpoints] = [c for c in of_kind("ConfigMap") if c["metadata"]["name"] == "hfs-rasa-endpoints"]
    assert endpoints["data"]["endpoints.yml"] == (DEPLOY / "endpoints.prod.yml").read_text()


def test_compose_runs_two_rasa_replicas_behind_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "rasa-1",
        "rasa-2",
        "actions",
        "delivery-worker",
        "console",
    } <= set(services)
    config = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert "server rasa-1:5005" in config and "server rasa-2:5005" in config
    assert "proxy_set_header Upgrade $http_upgrade" in config
    assert services["nginx"]["ports"] == ["5005:5005", "8000:8000"]  # 5006 (API) stays internal


@pytest.fixture
def production_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with temporary_database() as url:
        for name, value in {
            "DB_URL": url,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
            "REDIS_DB": "1",
            "REDIS_PASSWORD": "",
            "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
            "ACTION_SERVER_TOKEN": "test-action-token",
        }.items():
            monkeypatch.setenv(name, value)
        yield url


def test_production_endpoints_give_our_store_on_postgresql_and_the_redis_lock(
    production_environment: str,
) -> None:
    endpoints = AvailableEndpoints.read_endpoints(str(DEPLOY / "endpoints.prod.yml"))
    domain = Domain.load(str(ROOT / "domain"))
    store = TrackerStore.create(endpoints.tracker_store, domain)
    inner = getattr(store, "_tracker_store", store)  # Rasa wraps it in a FailSafeTrackerStore
    assert isinstance(inner, RecentHistorySQLTrackerStore)  # not Rasa's silent in-memory fallback
    assert inner.engine.dialect.name == "postgresql"
    indexes = {i["name"] for i in sa.inspect(inner.engine).get_indexes("events")}
    assert {"ix_events_sender_id", "ix_events_sender_id_id"} <= indexes
    inner.engine.dispose()
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, RedisLockStore)

    async def take_the_lock() -> None:
        async with lock_store.lock("deploy-test-conversation"):
            assert lock_store.get_lock("deploy-test-conversation") is not None

    asyncio.run(take_the_lock())
    assert endpoints.action is not None and endpoints.action.token == "test-action-token"


def test_worker_heartbeat_probe_follows_the_real_worker(tmp_path: Path) -> None:
    heartbeat = tmp_path / "delivery.heartbeat"
    probe = [sys.executable, "-m", "actions.delivery", "--check-heartbeat", "2"]
    with running_fake_webhook(secret="probe-secret") as fake:
        env = test_environment(
            {
                "HANDOFF_DB_URL": f"sqlite:///{tmp_path / 'handoff.db'}",
                "COORDINATOR_WEBHOOK_URL": fake.url,
                "COORDINATOR_WEBHOOK_SECRET": "probe-secret",
                "COORDINATOR_DELIVERY_INTERVAL": "0.2",
                "DELIVERY_HEARTBEAT_FILE": str(heartbeat),
            }
        )
        assert subprocess.run(probe, cwd=ROOT, env=env).returncode == 1  # not started yet
        worker = subprocess.Popen([sys.executable, "-m", "actions.delivery"], cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 30
            while not heartbeat.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert subprocess.run(probe, cwd=ROOT, env=env).returncode == 0
        finally:
            worker.kill()  # hung or dead: the heartbeat gets old
            worker.wait()
        time.sleep(2.5)
        assert subprocess.run(probe, cwd=ROOT, env=env).returncode == 1
