"""Kubernetes manifests and the compose file: schema-valid, and wired the way the README says.

Kubernetes objects are checked strictly (unknown fields refused) against the
bundled API schemas of ``kubernetes-validate``; the compose file against the
compose-spec JSON schema that ``check-jsonschema`` ships.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from gateway.core.settings import SETTING_NAMES, variable
from gateway.worker import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
COMPOSE = REPO / "deploy" / "compose.yaml"
K8S_VERSION = "1.30.0"
ROLES = {"api", "worker", "migrate", "check", "emulate"}
SETTINGS = {variable(name) for name in SETTING_NAMES}


def documents() -> list[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object under deploy/k8s (the kustomization excluded), with its file name."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name, doc", documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_kubernetes_object_is_schema_valid(name: str, doc: dict[str, Any]) -> None:
    """Each object validates strictly against the Kubernetes API schema."""
    validate(doc)


def test_the_schema_check_refuses_a_misspelt_field() -> None:
    """The check is real: a probe with a misspelt key and a string where an int belongs fail."""
    deployment = copy.deepcopy(by_kind("Deployment")["gateway-api"])
    container = pod_spec(deployment)["containers"][0]
    container["readinessProbe"]["httpGett"] = container["readinessProbe"].pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    broken = copy.deepcopy(by_kind("Deployment")["gateway-api"])
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_the_expected_objects_are_all_there() -> None:
    """API Deployment + Service + PDB, worker Deployment + HPA + PDB, migration Job, ConfigMap, Secret."""
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in documents()}
    assert kinds >= {
        ("Deployment", "gateway-api"), ("Service", "gateway-api"), ("PodDisruptionBudget", "gateway-api"),
        ("Deployment", "gateway-worker"), ("HorizontalPodAutoscaler", "gateway-worker"),
        ("PodDisruptionBudget", "gateway-worker"), ("Job", "gateway-migrate"),
        ("ConfigMap", "gateway-config"), ("Secret", "gateway-secrets"),
    }


def test_containers_run_an_entrypoint_role_as_non_root_with_resources() -> None:
    """Every container names a role, has requests and limits, and cannot escalate privileges."""
    for doc in [*by_kind("Deployment").values(), *by_kind("Job").values()]:
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert container["args"][0] in ROLES
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][part]), (doc["metadata"]["name"], part)
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            refs = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
            assert refs == {"gateway-config", "gateway-secrets"}
    assert pod_spec(by_kind("Job")["gateway-migrate"])["containers"][0]["args"] == ["migrate"]


def test_probes_hit_the_health_endpoints() -> None:
    """API readiness is /health/ready and liveness /health/live; workers are probed on their metrics port."""
    api = pod_spec(by_kind("Deployment")["gateway-api"])["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    worker = pod_spec(by_kind("Deployment")["gateway-worker"])["containers"][0]
    config = by_kind("ConfigMap")["gateway-config"]["data"]
    metrics_port = int(config["GATEWAY_WORKER_METRICS_PORT"])
    assert worker["ports"][0]["containerPort"] == metrics_port
    assert worker["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert api["ports"][0]["containerPort"] == int(config["GATEWAY_PORT"])


def test_grace_period_outlasts_the_workers_job_completion_wait() -> None:
    """terminationGracePeriodSeconds leaves the in-flight jobs their full completion wait, and then some."""
    worker = pod_spec(by_kind("Deployment")["gateway-worker"])
    assert worker["terminationGracePeriodSeconds"] >= WorkerSettings.job_completion_wait + 20
    api = pod_spec(by_kind("Deployment")["gateway-api"])
    assert api["terminationGracePeriodSeconds"] >= 20


def test_hpa_pdb_and_service_select_the_right_pods() -> None:
    """The HPA scales the worker Deployment; PDBs and the Service select the pods their names say."""
    deployments = by_kind("Deployment")
    hpa = by_kind("HorizontalPodAutoscaler")["gateway-worker"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "gateway-worker"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    for name, pdb in by_kind("PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = by_kind("Service")["gateway-api"]
    assert service["spec"]["selector"].items() <= \
        deployments["gateway-api"]["spec"]["template"]["metadata"]["labels"].items()


def test_configmap_and_secret_only_set_known_settings() -> None:
    """Every GATEWAY_* key in the ConfigMap and Secret is a real setting (no typo goes unnoticed)."""
    keys = set(by_kind("ConfigMap")["gateway-config"]["data"])
    keys |= set(by_kind("Secret")["gateway-secrets"]["stringData"])
    assert keys <= SETTINGS, keys - SETTINGS
    secret = set(by_kind("Secret")["gateway-secrets"]["stringData"])
    assert {"GATEWAY_DATABASE_URL", "GATEWAY_REDIS_URL", "GATEWAY_VOLUE_CLIENT_SECRET",
            "GATEWAY_ZF_CLIENT_SECRET"} <= secret
    assert not {k for k in keys - secret if "SECRET" in k or "DATABASE_URL" in k}


def test_kustomization_lists_existing_files() -> None:
    """kubectl apply -k deploy/k8s finds every file it names."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource


# --- compose ------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text())


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_errors(doc: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    """deploy/compose.yaml validates against the compose-spec schema."""
    assert compose_errors(compose()) == []


def test_compose_schema_check_refuses_a_misspelt_key() -> None:
    """The check is real: an unknown service key and a bad depends_on condition are errors."""
    doc = compose()
    doc["services"]["api"]["helthcheck"] = doc["services"]["api"].pop("healthcheck")
    doc["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert len(compose_errors(doc)) >= 2


def test_compose_services_health_checks_and_order() -> None:
    """api, two workers, migrate, postgres, redis and both emulators; migrate runs first, all checked."""
    services = compose()["services"]
    assert set(services) == {"api", "worker", "migrate", "postgres", "redis", "volue-emulator", "zf-emulator"}
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("api", "worker", "postgres", "redis", "volue-emulator", "zf-emulator"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["api"]["command"] == ["api"] and services["worker"]["command"] == ["worker"]
    for name in ("api", "worker", "migrate"):
        assert set(services[name]["environment"]) <= SETTINGS, name
    grace = int(services["worker"]["stop_grace_period"].rstrip("s"))
    assert grace >= WorkerSettings.job_completion_wait + 20
