"""a json schema for render.yaml, written from render's blueprint yaml reference (https://render.com/docs/blueprint-spec).

it holds the documented fields of services, databases and environment groups, and the rules the reference states:
one source per environment variable, a cron job needs a schedule, key value needs an ipAllowList and runs no
command, health checks and custom domains are for web services, a docker service builds with its Dockerfile
(dockerCommand, not buildCommand/startCommand). it checks structure and spelling, not what a workspace may buy.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

TEXT: Schema = {"type": "string", "minLength": 1}
SERVICE_TYPES = ["web", "pserv", "worker", "cron", "keyvalue", "redis"]  # redis: key value's former name
RUNTIMES = ["docker", "image", "node", "python", "elixir", "go", "ruby", "rust", "static"]
REGIONS = ["oregon", "ohio", "virginia", "frankfurt", "singapore"]
ENV_SOURCES = ["value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"]
MAXMEMORY_POLICIES = [
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
]


def _object(required: list[str], properties: dict[str, Schema], **extra: Any) -> Schema:
    return {"type": "object", "required": required, "additionalProperties": False, "properties": properties, **extra}


def env_var(sources: list[str]) -> Schema:
    properties: dict[str, Schema] = {
        "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$"},
        "value": {"type": ["string", "number", "boolean"]},
        "generateValue": {"const": True},  # a base64-encoded 256-bit secret
        "sync": {"const": False},  # a placeholder: the dashboard asks for the value on creation
        "fromDatabase": _object(
            ["name", "property"],
            {"name": TEXT, "property": {"enum": ["host", "port", "database", "user", "password", "connectionString"]}},
        ),
        "fromService": _object(
            ["type", "name"],
            {
                "type": {"enum": SERVICE_TYPES},
                "name": TEXT,
                "property": {"enum": ["host", "port", "hostport", "connectionString"]},
                "envVarKey": TEXT,
            },
            oneOf=[{"required": ["property"]}, {"required": ["envVarKey"]}],
        ),
        "fromGroup": TEXT,
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: properties[name] for name in ["key", *sources]},
        "oneOf": [
            {"required": ["fromGroup"], "not": {"required": ["key"]}}
            if source == "fromGroup"
            else {"required": ["key", source]}
            for source in sources
        ],
    }


def _types(*types: str) -> Schema:
    return {"properties": {"type": {"enum": list(types)}}, "required": ["type"]}


def _none_of(*fields: str) -> Schema:
    return {"not": {"anyOf": [{"required": [field]} for field in fields]}}


IP_ALLOW_LIST: Schema = {
    "type": "array",
    "items": _object(["source"], {"source": TEXT, "description": {"type": "string"}}),
}

SERVICE: Schema = {
    "type": "object",
    "required": ["type", "name"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": SERVICE_TYPES},
        "name": TEXT,
        "runtime": {"enum": RUNTIMES},
        "env": {"enum": RUNTIMES},  # runtime's former name
        "plan": {"enum": ["free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"]},
        "region": {"enum": REGIONS},
        "repo": TEXT,
        "branch": TEXT,
        "rootDir": TEXT,
        "buildCommand": TEXT,
        "startCommand": TEXT,
        "preDeployCommand": TEXT,
        "dockerfilePath": TEXT,
        "dockerContext": TEXT,
        "dockerCommand": TEXT,
        "registryCredential": {"type": "object"},
        "image": _object(["url"], {"url": TEXT, "creds": {"type": "object"}}),
        "schedule": TEXT,
        "healthCheckPath": {"type": "string", "pattern": "^/"},
        "numInstances": {"type": "integer", "minimum": 1},
        "scaling": _object(
            ["minInstances", "maxInstances"],
            {
                "minInstances": {"type": "integer", "minimum": 1},
                "maxInstances": {"type": "integer", "minimum": 1},
                "targetMemoryPercent": {"type": "integer", "minimum": 1, "maximum": 90},
                "targetCPUPercent": {"type": "integer", "minimum": 1, "maximum": 90},
            },
        ),
        "maxShutdownDelaySeconds": {"type": "integer", "minimum": 1, "maximum": 300},
        "autoDeploy": {"type": "boolean"},
        "autoDeployTrigger": {"enum": ["commit", "checksPass", "off"]},
        "buildFilter": _object(
            [], {"paths": {"type": "array", "items": TEXT}, "ignoredPaths": {"type": "array", "items": TEXT}}
        ),
        "domains": {"type": "array", "items": TEXT},
        "disk": _object(
            ["name", "mountPath"],
            {
                "name": TEXT,
                "mountPath": {"type": "string", "pattern": "^/"},
                "sizeGB": {"type": "integer", "minimum": 1},
            },
        ),
        "envVars": {"type": "array", "items": env_var(ENV_SOURCES)},
        "ipAllowList": IP_ALLOW_LIST,
        "maxmemoryPolicy": {"enum": MAXMEMORY_POLICIES},
        "previews": {"type": "object"},
        "pullRequestPreviewsEnabled": {"type": "boolean"},
        "staticPublishPath": TEXT,
        "headers": {"type": "array"},
        "routes": {"type": "array"},
        "initialDeployHook": TEXT,
        "renderSubdomainPolicy": {"enum": ["enabled", "disabled"]},
    },
    "allOf": [
        {
            "if": _types("web", "pserv", "worker", "cron"),
            "then": {"anyOf": [{"required": ["runtime"]}, {"required": ["env"]}]},
        },
        {"if": _types("cron"), "then": {"required": ["schedule"]}},
        {
            "if": _types("keyvalue", "redis"),
            "then": {
                "required": ["ipAllowList"],
                **_none_of("runtime", "env", "envVars", "dockerCommand", "startCommand"),
            },
        },
        {"if": {"not": _types("keyvalue", "redis")}, "then": _none_of("maxmemoryPolicy")},
        {"if": {"not": _types("web")}, "then": _none_of("healthCheckPath", "domains")},
        {
            "if": {"properties": {"runtime": {"const": "docker"}}, "required": ["runtime"]},
            "then": _none_of("buildCommand", "startCommand"),
        },
    ],
}

DATABASE: Schema = _object(
    ["name"],
    {
        "name": TEXT,
        "databaseName": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
        "user": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
        "plan": {
            "type": "string",
            "pattern": "^(free|starter|standard|pro|pro plus|basic-[0-9]+(mb|gb)|pro-[0-9]+gb|accelerated-[0-9]+gb)$",
        },
        "region": {"enum": REGIONS},
        "postgresMajorVersion": {"type": ["string", "integer"], "pattern": "^1[1-8]$", "minimum": 11, "maximum": 18},
        "diskSizeGB": {"type": "integer", "minimum": 1},
        "ipAllowList": IP_ALLOW_LIST,
        "readReplicas": {"type": "array", "items": _object(["name"], {"name": TEXT})},
        "highAvailability": _object([], {"enabled": {"type": "boolean"}}),
        "previewPlan": TEXT,
        "previewDiskSizeGB": {"type": "integer", "minimum": 1},
    },
)

# a group holds literal, generated or dashboard-filled values; references to services live on the services
ENV_VAR_GROUP: Schema = _object(
    ["name", "envVars"],
    {"name": TEXT, "envVars": {"type": "array", "items": env_var(["value", "generateValue", "sync"])}},
)

SCHEMA: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Render Blueprint (render.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "services": {"type": "array", "items": SERVICE},
        "databases": {"type": "array", "items": DATABASE},
        "envVarGroups": {"type": "array", "items": ENV_VAR_GROUP},
        "previews": _object(
            [], {"generation": {"enum": ["automatic", "manual", "off"]}, "expireAfterDays": {"type": "integer"}}
        ),
        "previewsEnabled": {"type": "boolean"},
        "previewsExpireAfterDays": {"type": "integer"},
        "projects": {"type": "array"},
        "ungrouped": {"type": "object"},
    },
}
