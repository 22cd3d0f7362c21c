"""The policy pack: ``pulumi preview --policy-pack policy`` (CI passes the config `bridgectl check
--policy-config-out` writes). Building ``PolicyPack`` starts the analyzer's gRPC server and blocks,
so nothing may import this module; the rules live in ``rules.py``."""

import importlib
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file from the pack directory; load its sibling module whatever the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
rules = importlib.import_module("rules")

PolicyPack(
    name="bridge-policies",
    description="Rules of the AWS-to-Azure bridge: protected stateful resources, secret BGP keys, BFD on every "
                "BGP session, endpoints closed to the Internet and without public IPs, required tags, routes "
                "only toward planned prefixes.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=rules.POLICIES,
)
