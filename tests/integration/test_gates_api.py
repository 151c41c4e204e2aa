"""/api/v1/gates: crud, tenancy, validation naming the rule, and what select serves (and says) behind a gate."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.integration.conftest import Tenant


def condition(attribute: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


async def put(tenant: Tenant, path: str, body: Any, expect: int) -> Any:
    response = await tenant.client.put(path, json=body, headers=tenant.headers)
    assert response.status_code == expect, response.text
    return response.json()


async def select(
    tenant: Tenant,
    experiment_id: str,
    visitor: str = "",
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> dict[str, Any]:
    payload = {"experiment_id": experiment_id, "context": {"id": visitor, **(context or {})}, **body}
    response = await tenant.client.post("/api/v1/select", json=payload, headers={**tenant.headers, **(headers or {})})
    assert response.status_code == 200, response.text
    return response.json()


async def test_gate_crud_and_tenancy(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=3)
    body = {
        "experiment_id": experiment["id"],
        "rollout_percent": 40,
        "default_arm": 0,
        "schedule": {
            "timezone": "Europe/Berlin",
            "start": "2026-01-01T00:00:00",
            "hours_from": "08:00",
            "hours_to": "20:00",
            "days": [0, 1, 2, 3, 4],
        },
        "rules": [
            {"condition": condition("country", "in", ["DE", "AT"]), "arm": 2},
            {"id": "no-bots", "action": "exclude", "condition": condition("device", "eq", "bot")},
        ],
    }
    created = (await tenant.post("/api/v1/gates", body, 201)).json()
    assert [r["id"] for r in created["rules"]] == ["r1", "no-bots"]
    assert created["rules"][1]["arm"] is None and created["enabled"] is True
    assert created["schedule"]["start"] == "2026-01-01T00:00:00+01:00"  # naive means berlin wall-clock
    assert created["name"]
    gate_id = created["id"]
    assert (await tenant.get(f"/api/v1/gates/{gate_id}", 200)).json() == created
    listed = (await tenant.get(f"/api/v1/gates?experiment_id={experiment['id']}", 200)).json()
    assert [g["id"] for g in listed] == [gate_id]
    # one gate per experiment
    again = await tenant.post("/api/v1/gates", {"experiment_id": experiment["id"]}, 409)
    assert again.json()["errors"][0]["field"] == "experiment_id"
    # another organization sees nothing and can touch nothing
    await other_tenant.get(f"/api/v1/gates/{gate_id}", 404)
    assert (await other_tenant.get("/api/v1/gates", 200)).json() == []
    await put(other_tenant, f"/api/v1/gates/{gate_id}", {"enabled": False}, 404)
    response = await other_tenant.client.delete(f"/api/v1/gates/{gate_id}", headers=other_tenant.headers)
    assert response.status_code == 404
    await other_tenant.post("/api/v1/gates", {"experiment_id": experiment["id"]}, 404)

    updated = await put(tenant, f"/api/v1/gates/{gate_id}", {"enabled": False, "schedule": None}, 200)
    assert updated["enabled"] is False and updated["schedule"] is None and updated["rules"] == created["rules"]
    response = await tenant.client.delete(f"/api/v1/gates/{gate_id}", headers=tenant.headers)
    assert response.status_code == 204
    await tenant.get(f"/api/v1/gates/{gate_id}", 404)


async def test_invalid_rules_are_refused_naming_the_rule(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=2)
    ok = {"condition": condition("country", "eq", "DE"), "arm": 1}
    cases = [
        ([ok, ok, {"condition": condition("url", "regex", "(unclosed"), "arm": 1}], "rules[2].condition.value"),
        ([ok, {"condition": condition("url", "regex", "(?<=x)y"), "arm": 0}], "rules[1].condition.value"),
        ([{"condition": condition("country", "resembles", "DE"), "arm": 1}], "rules[0].condition.operator"),
        ([{"condition": condition("total", "gt", "lots"), "arm": 1}], "rules[0].condition.value"),
        ([{"condition": condition("v", "semver_gte", "one.two"), "arm": 1}], "rules[0].condition.value"),
        ([{"condition": condition("country", "eq", "DE"), "arm": 5}], "rules[0].arm"),
        ([{"condition": condition("country", "eq", "DE")}], "rules[0].arm"),
        ([{"id": "x", **ok}, {"id": "x", **ok}], "rules[1].id"),
    ]
    for rules, field in cases:
        response = await tenant.post("/api/v1/gates", {"experiment_id": experiment["id"], "rules": rules}, 422)
        assert response.json()["errors"][0]["field"] == field, (rules, response.text)
    schedule_cases = [
        ({"timezone": "Mars/Olympus"}, "schedule.timezone"),
        ({"hours_from": "25:00", "hours_to": "26:00"}, "schedule.hours_from"),
        ({"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "schedule.end"),
    ]
    for schedule, field in schedule_cases:
        response = await tenant.post("/api/v1/gates", {"experiment_id": experiment["id"], "schedule": schedule}, 422)
        assert response.json()["errors"][0]["field"] == field, response.text
    response = await tenant.post("/api/v1/gates", {"experiment_id": experiment["id"], "default_arm": 2}, 422)
    assert response.json()["errors"][0]["field"] == "default_arm"
    # nothing was saved by any of them
    assert (await tenant.get(f"/api/v1/gates?experiment_id={experiment['id']}", 200)).json() == []
    # a valid gate, then an invalid update leaves it as it was
    gate = (await tenant.post("/api/v1/gates", {"experiment_id": experiment["id"], "rules": [ok]}, 201)).json()
    bad = {"rules": [ok, {"condition": condition("path", "regex", "a{1000}{1000}"), "arm": 0}]}
    response = await tenant.client.put(f"/api/v1/gates/{gate['id']}", json=bad, headers=tenant.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "rules[1].condition.value"
    assert (await tenant.get(f"/api/v1/gates/{gate['id']}", 200)).json()["rules"] == gate["rules"]


async def test_select_says_why_it_served_an_arm(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=3)
    eid = experiment["id"]
    rules = [
        {"id": "dach", "condition": condition("country", "in", ["DE", "AT", "CH"]), "arm": 2},
        {"id": "old-app", "action": "exclude", "condition": condition("app_version", "semver_lt", "2.0.0")},
        {"id": "vip", "condition": condition("plan", "eq", "vip"), "arm": 1},
    ]
    gate = (await tenant.post("/api/v1/gates", {"experiment_id": eid, "rules": rules, "default_arm": 0}, 201)).json()
    # country from context.metadata, or from the cdn's header when the caller gives none
    chosen = await select(tenant, eid, "v1", context={"metadata": {"country": "AT"}})
    assert (chosen["reason"], chosen["arm"]["index"]) == ("rule:dach", 2)
    chosen = await select(tenant, eid, "v1", headers={"cf-ipcountry": "ch"})
    assert (chosen["reason"], chosen["arm"]["index"]) == ("rule:dach", 2)
    chosen = await select(tenant, eid, "v1", context={"metadata": {"country": "FR", "app_version": "1.9.3"}})
    assert (chosen["reason"], chosen["arm"]["index"]) == ("rule:old-app", 0)
    chosen = await select(tenant, eid, "v1", context={"metadata": {"plan": "vip", "app_version": "2.1.0"}})
    assert (chosen["reason"], chosen["arm"]["index"]) == ("rule:vip", 1)
    # a rule that can't be evaluated (wrong type, missing) is a non-match, not an error
    chosen = await select(tenant, eid, "v1", context={"metadata": {"app_version": 3, "country": ["DE"]}})
    assert chosen["reason"] == "policy"
    chosen = await select(tenant, eid, "v1", force_arm=1)
    assert (chosen["reason"], chosen["arm"]["index"]) == ("forced", 1)
    response = await tenant.post("/api/v1/select", {"experiment_id": eid, "force_arm": 3}, 422)
    assert response.json()["errors"][0]["field"] == "force_arm"

    # rollout: stable per visitor, about the share asked for
    await put(tenant, f"/api/v1/gates/{gate['id']}", {"rollout_percent": 30, "default_arm": 1}, 200)
    reasons = Counter()
    first: dict[str, tuple[str, int]] = {}
    for i in range(300):
        chosen = await select(tenant, eid, f"visitor-{i}")
        reasons[chosen["reason"]] += 1
        first[f"visitor-{i}"] = (chosen["reason"], chosen["arm"]["index"])
        if chosen["reason"] == "rollout":
            assert chosen["arm"]["index"] == 1  # the default arm
    assert set(reasons) == {"policy", "rollout"} and 50 < reasons["policy"] < 130, reasons
    for visitor in list(first)[:40]:
        chosen = await select(tenant, eid, visitor)
        assert chosen["reason"] == first[visitor][0]

    # disabled: everyone gets the default arm
    await put(tenant, f"/api/v1/gates/{gate['id']}", {"enabled": False}, 200)
    chosen = await select(tenant, eid, "visitor-1", context={"metadata": {"country": "DE"}})
    assert (chosen["reason"], chosen["arm"]["index"]) == ("default", 1)
    # out of schedule: the default arm too
    await put(
        tenant,
        f"/api/v1/gates/{gate['id']}",
        {"enabled": True, "rules": [], "rollout_percent": 100, "schedule": {"start": "2099-01-01T00:00:00Z"}},
        200,
    )
    assert (await select(tenant, eid, "visitor-1"))["reason"] == "default"
    # gone: the policy again
    await tenant.client.delete(f"/api/v1/gates/{gate['id']}", headers=tenant.headers)
    assert (await select(tenant, eid, "visitor-1"))["reason"] == "policy"


async def test_experiment_traffic_split_is_labelled_rollout(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=2, traffic_percent=20, control_index=1)
    reasons = Counter()
    for i in range(200):
        chosen = await select(tenant, experiment["id"], f"visitor-{i}")
        reasons[chosen["reason"]] += 1
        if chosen["reason"] == "rollout":
            assert chosen["arm"]["index"] == 1
    assert set(reasons) == {"policy", "rollout"} and 20 < reasons["policy"] < 65, reasons
