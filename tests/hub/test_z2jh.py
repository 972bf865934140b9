"""The Zero to JupyterHub configuration (hub/z2jh-config.yaml) against the chart's values schema
(hub/z2jh/values.schema.yaml, vendored with its source address). Helm validates the chart's
defaults merged with this file, and the defaults hold every required key, so the keys this file
leaves to them are not required here; everything it sets must be known to the chart and of the
right type. Kubernetes itself cannot run here."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

HUB = Path(__file__).resolve().parents[2] / "hub"


def schema() -> dict:
    def relax(node):
        if isinstance(node, dict):
            # "required" the keyword (a list), not a property called "required" (a schema)
            return {
                k: relax(v) for k, v in node.items() if not (k == "required" and type(v) is list)
            }
        return [relax(v) for v in node] if isinstance(node, list) else node

    return relax(yaml.safe_load((HUB / "z2jh" / "values.schema.yaml").read_text()))


def config() -> dict:
    return yaml.safe_load((HUB / "z2jh-config.yaml").read_text())


def errors(values: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(schema())
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]


def test_the_vendored_schema_is_a_schema_and_names_its_source():
    text = (HUB / "z2jh" / "values.schema.yaml").read_text()
    jsonschema.Draft7Validator.check_schema(yaml.safe_load(text))
    assert "github.com/jupyterhub/zero-to-jupyterhub-k8s/blob/" in text
    assert "commit 02dd73df01bdbb6d602fed21b0be12565ab38080" in text


def test_the_course_config_fits_the_charts_values_schema():
    assert errors(config()) == []


def test_the_check_has_teeth():
    typo, wrong_type = copy.deepcopy(config()), copy.deepcopy(config())
    typo["singleuser"]["memroy"] = {"limit": "2G"}
    wrong_type["singleuser"]["cpu"]["limit"] = "one"
    for values in (typo, wrong_type, {**config(), "singleusers": {}}):
        assert errors(values)


def test_per_learner_limits_and_no_secrets():
    values = config()
    memory, cpu = values["singleuser"]["memory"], values["singleuser"]["cpu"]
    assert memory["guarantee"] and memory["limit"] and cpu["guarantee"] <= cpu["limit"]

    def keys(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)

    assert not [k for k in keys(values) if any(s in k.lower() for s in ("password", "token"))]
