"""The offline plan: run the real Pulumi program under Pulumi's mocks, with no CLI, no credentials
and no network, and record every resource it registers.

It is what ``bridgectl plan`` prints, what the tests assert on, what ``bridgectl diff`` compares,
what ``bridgectl check`` polices and what the diagram is drawn from. The program runs exactly as
under ``pulumi up``: the stack file is fed to it as the engine would (structured values as JSON,
``secure:`` values as opaque secrets), and a recording monitor keeps each registration with its
parent, protection, dependencies and inputs.

What mocks cannot know is filled with deterministic stand-ins (ids, the ExpressRoute service key,
the VLAN Equinix assigns, the private endpoint addresses) so the same input gives the same plan.
The plan shows the steady state: the readiness gate sees the circuit *Provisioned*, so the private
peering and everything after it appear (``circuit_state`` changes that, for tests).
A customer plan resolves its bridge's StackReference from the bridge stack's own offline plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import runpy
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.loader import Loaded, load_stack
from stacks.plan import BridgePlan, CustomerPlan, plan_bridge, plan_customer
from stacks.problems import MISSING, ConfigError, Problem
from stacks.spec import BridgeSpec, CustomerSpec

SECRET = "[secret]"
UNKNOWN = "[unknown]"
STEADY_STATE_NOTE = ("Steady state: the ExpressRoute circuit is shown Provisioned, so the private peering, "
                     "the gateway connection and the FCR's Azure BGP sessions appear. A first `pulumi up` "
                     "stops before them until Equinix provisions the circuit.")
PROGRAM = "__main__.py"
#: Set by ``bridgectl diff`` to a random key for one diff: secrets are then recorded as
#: ``[secret:DIGEST]``, a keyed digest that tells whether a secret changed between two plans of that
#: diff (a new ExpressRoute service key after the circuit is replaced) and means nothing after it.
SECRET_DIGEST_ENV = "BRIDGE_SECRET_DIGEST_KEY"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    provider: str
    inputs: dict[str, Any]
    depends_on: list[str]
    options: dict[str, Any]
    #: type aliases the SDK declared (kept for the benchmarks' plain-registration baseline, not shown)
    alias_types: list[str] = field(default_factory=list)


def _digest(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:n]


def _uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]))


# azure-native: the input that names each resource type (its "name" output and ARM id segment).
_AZURE_NAMES: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", ""),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "virtualNetworks"),
    "azure-native:network:Subnet": ("subnetName", "subnets"),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName", "networkSecurityGroups"),
    "azure-native:network:PublicIPAddress": ("publicIpAddressName", "publicIPAddresses"),
    "azure-native:network:VirtualNetworkGateway": ("virtualNetworkGatewayName", "virtualNetworkGateways"),
    "azure-native:network:ExpressRouteCircuit": ("circuitName", "expressRouteCircuits"),
    "azure-native:network:ExpressRouteCircuitPeering": ("peeringName", "peerings"),
    "azure-native:network:VirtualNetworkGatewayConnection": ("virtualNetworkGatewayConnectionName", "connections"),
    "azure-native:network:PrivateEndpoint": ("privateEndpointName", "privateEndpoints"),
    "azure-native:network:VirtualNetworkPeering": ("virtualNetworkPeeringName", "virtualNetworkPeerings"),
    "azure-native:network:LocalNetworkGateway": ("localNetworkGatewayName", "localNetworkGateways"),
}


@dataclass
class MockContext:
    """What the mocks need to answer like the clouds would, for one program run."""

    stack: str
    subscription: str = "00000000-0000-0000-0000-000000000000"
    account: str = "111122223333"
    region: str = "us-east-1"
    fcr_asn: int = 0
    #: the FCR ASN of each metro of a bridge in two metros (the plan's; fcr_asn for any other)
    metro_asns: dict[str, int] = field(default_factory=dict)
    circuit_state: str = "Provisioned"
    stack_references: dict[str, dict[str, Any]] = field(default_factory=dict)
    nic_addresses: dict[str, str] = field(default_factory=dict)
    #: the account the AWS credentials belong to ("": the stack's own account, as in CI)
    credentials_account: str = ""
    #: VPC attributes that differ from a VPC ready for private DNS (tests): {vpc id: {attribute: value}}
    vpc_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what the Equinix service profile lookup answers, by profile name (tests): a list of profiles
    service_profiles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: resources (type, name) this run shows as replaced: they report new ids and new computed outputs,
    #: as a recreated resource does, so everything that consumes them changes too (``bridgectl diff``)
    replaced: frozenset[tuple[str, str]] = frozenset()


def offline_mocks(ctx: MockContext) -> Any:
    import pulumi

    class OfflineMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            return fake_resource(ctx, args.typ, args.name, dict(args.inputs))

        def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
            return fake_call(ctx, args.token, dict(args.args))

    return OfflineMocks()


def fake_resource(ctx: MockContext, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and output state a cloud would return: the inputs plus deterministic computed values.
    A resource in ``ctx.replaced`` is the one its replacement creates: a new id and new values for
    every output its inputs do not set (ids, ARNs, keys, addresses, the VLAN and hosted connection
    Equinix assigns); Azure names and ids too, which a preview shows unknown until the new resource
    exists (pulumi/pulumi docs, "Resource replacement": outputs of a replaced resource are unknown
    during preview)."""
    rid, state = _fresh_resource(ctx, typ, name, inputs)
    if (typ, name) in ctx.replaced and not typ.startswith(("pulumi:providers:", "pulumi:pulumi:")):
        rid = _renewed(rid)
        state = _renew_outputs(state, inputs, azure=typ.startswith("azure-native:"))
    return rid, state


def _renewed(value: Any) -> Any:
    """What a recreated resource reports instead of ``value``: same shape, other value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return 100 + (value - 100 + 1) % 3900 if 100 <= value < 4000 else value + 1
    if isinstance(value, str):
        try:
            uuid.UUID(value)
            return _uuid("renewed", value)
        except ValueError:
            return f"{value}-renewed" if value else value
    return value


def _renew_outputs(state: Any, inputs: Any, *, azure: bool, top: bool = True) -> Any:
    """Renew every leaf of ``state`` that ``inputs`` do not set to the same value."""
    if isinstance(state, dict):
        given = inputs if isinstance(inputs, dict) else {}
        out = {}
        for key, value in state.items():
            if top and azure and key == "name":
                out[key] = _renewed(value)
            elif key in given and given[key] == value:
                out[key] = value
            else:
                out[key] = _renew_outputs(value, given.get(key), azure=azure, top=False)
        return out
    if isinstance(state, list):
        given_list = inputs if isinstance(inputs, list) else []
        return [_renew_outputs(v, given_list[i] if i < len(given_list) else None, azure=azure, top=False)
                for i, v in enumerate(state)]
    return state if state == inputs else _renewed(state)


def _fresh_resource(ctx: MockContext, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state = dict(inputs)
    key = _digest(ctx.stack, typ, name)
    if typ.startswith("pulumi:providers:"):
        return f"{name}-provider-id", state
    if typ == "pulumi:pulumi:StackReference":
        ref = ctx.stack_references.get(inputs.get("name", ""), {})
        return inputs.get("name", name), {"name": inputs.get("name", name), "outputs": ref,
                                           "secretOutputNames": []}
    if typ.startswith("azure-native:"):
        name_key, segment = _AZURE_NAMES.get(typ, ("", ""))
        own = str(inputs.get(name_key) or name)
        rg = str(inputs.get("resourceGroupName") or own)
        base = f"/subscriptions/{ctx.subscription}/resourceGroups/{rg}"
        if typ == "azure-native:resources:ResourceGroup":
            rid = base
        elif typ == "azure-native:network:Subnet":
            rid = f"{base}/providers/Microsoft.Network/virtualNetworks/{inputs.get('virtualNetworkName')}/subnets/{own}"
        elif typ == "azure-native:network:VirtualNetworkPeering":
            rid = (f"{base}/providers/Microsoft.Network/virtualNetworks/{inputs.get('virtualNetworkName')}"
                   f"/virtualNetworkPeerings/{own}")
        elif typ == "azure-native:network:ExpressRouteCircuitPeering":
            rid = f"{base}/providers/Microsoft.Network/expressRouteCircuits/{inputs.get('circuitName')}/peerings/{own}"
        else:
            rid = f"{base}/providers/Microsoft.Network/{segment or typ.rsplit(':', 1)[-1]}/{own}"
        state.update(name=own, id=rid)
        if typ == "azure-native:network:ExpressRouteCircuit":
            state.update(serviceKey=_uuid("service-key", ctx.stack, own),
                         serviceProviderProvisioningState=ctx.circuit_state, circuitProvisioningState="Enabled")
        if typ == "azure-native:network:PublicIPAddress":
            # A stand-in address from TEST-NET-3 (RFC 5737), stable per name.
            state["ipAddress"] = f"203.0.113.{1 + int(_digest('pip', ctx.stack, own, n=6), 16) % 254}"
        return rid, state
    if typ.startswith("equinix:"):
        rid = _uuid(typ, ctx.stack, name)
        if typ == "equinix:fabric/cloudRouter:CloudRouter":
            state.update(uuid=rid, equinixAsn=ctx.fcr_asn, state="PROVISIONED")
        elif typ == "equinix:fabric/connection:Connection":
            redundancy = dict(inputs.get("redundancy") or {})
            redundancy.setdefault("group", _uuid("group", ctx.stack, name))
            state.update(uuid=rid, redundancy=redundancy, state="ACTIVE")
            z_side = inputs.get("zSide")
            access_point = dict((z_side or {}).get("accessPoint") or {}) if isinstance(z_side, dict) else {}
            if access_point.get("sellerRegion"):
                # An AWS connection: Equinix reports the hosted connection it created in AWS and the
                # VLAN it assigned (stable stand-ins, keyed by the connection's name).
                conn_name = str(inputs.get("name") or name)
                access_point.update(
                    providerConnectionId=f"dxcon-{_digest('dxcon', conn_name, n=8)}",
                    linkProtocol={"type": "DOT1Q", "vlanTag": 100 + int(_digest("vlan", conn_name, n=6), 16) % 3900})
                state["zSide"] = {**dict(z_side or {}), "accessPoint": access_point}
        elif typ == "equinix:fabric/routingProtocol:RoutingProtocol":
            state.update(uuid=rid, state="PROVISIONED")
        return rid, state
    if typ == "random:index/randomPassword:RandomPassword":
        state["result"] = f"offline{_digest('key', ctx.stack, name, n=int(inputs.get('length', 16)) - 7)}"
        return f"{name}-id", state
    prefixes = {
        "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw-",
        "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb-",
        "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach-",
        "aws:directconnect/transitVirtualInterface:TransitVirtualInterface": "dxvif-",
        "aws:ec2/securityGroup:SecurityGroup": "sg-",
        "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
        "aws:networkmanager/globalNetwork:GlobalNetwork": "global-network-",
        "aws:networkmanager/coreNetwork:CoreNetwork": "core-network-",
        "aws:networkmanager/vpcAttachment:VpcAttachment": "attachment-",
        "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment": "attachment-",
        "aws:route53/zone:Zone": "Z",
        "aws:ec2/customerGateway:CustomerGateway": "cgw-",
        "aws:ec2/vpnConnection:VpnConnection": "vpn-",
    }
    rid = prefixes.get(typ, f"{name}-") + (key.upper()[:14] if typ == "aws:route53/zone:Zone" else key)
    if typ == "aws:directconnect/transitVirtualInterface:TransitVirtualInterface":
        # The Direct Connect device AWS reports (a stand-in: one per VIF, as diverse connections give).
        state["awsDevice"] = f"EqDX-{_digest('device', ctx.stack, name, n=12)}"
    if typ == "aws:directconnect/gateway:Gateway":
        rid = _uuid(typ, ctx.stack, name)
        state["arn"] = f"arn:aws:directconnect::{ctx.account}:dx-gateway/{rid}"
        state["ownerAccountId"] = ctx.account
    elif typ == "aws:directconnect/gatewayAssociation:GatewayAssociation":
        state["transitGatewayAttachmentId"] = f"tgw-attach-{_digest('dx', ctx.stack, name)}"
        state["dxGatewayAssociationId"] = _uuid(typ, ctx.stack, name)
    elif typ == "aws:ec2/vpnConnection:VpnConnection":
        # AWS's two outside addresses (stand-ins from TEST-NET-2, RFC 5737) and the transit gateway attachment.
        pair = 2 * (int(_digest("vpn", ctx.stack, name, n=6), 16) % 127)
        state.update(tunnel1Address=f"198.51.100.{pair + 1}", tunnel2Address=f"198.51.100.{pair + 2}")
        if inputs.get("transitGatewayId"):
            state["transitGatewayAttachmentId"] = f"tgw-attach-{_digest('vpn-attach', ctx.stack, name)}"
    elif typ == "aws:networkmanager/coreNetwork:CoreNetwork":
        state["arn"] = f"arn:aws:networkmanager::{ctx.account}:core-network/{rid}"
    elif typ == "aws:networkmanager/coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment":
        state["coreNetworkId"] = inputs.get("coreNetworkId")
    elif typ == "aws:route53/zone:Zone":
        state["zoneId"] = rid
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        state["dnsEntries"] = [{"dnsName": f"{rid}-{key[:8]}.{str(inputs.get('serviceName', '')).rsplit('.', 1)[-1]}"
                                           f".{ctx.region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"}]
        state["state"] = "pendingAcceptance"
    elif typ == "aws:sns/topic:Topic":
        state["arn"] = f"arn:aws:sns:{ctx.region}:{ctx.account}:{inputs.get('name') or name}"
    elif typ == "aws:redshift/endpointAccess:EndpointAccess":
        state["address"] = f"{inputs.get('endpointName')}.{key[:12]}.{ctx.region}.redshift.amazonaws.com"
        state["port"] = 5439
    return rid, state


def fake_call(ctx: MockContext, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers to the invokes the program makes."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        account = ctx.credentials_account or ctx.account
        return {"accountId": account, "arn": f"arn:aws:sts::{account}:assumed-role/deploy/offline",
                "userId": "AROAOFFLINE:offline", "id": account}
    if token == "aws:ec2/getVpc:getVpc":
        vpc = str(args.get("id"))
        return {"id": vpc, "enableDnsSupport": True, "enableDnsHostnames": True, "state": "available",
                "ownerId": ctx.account, **ctx.vpc_attributes.get(vpc, {})}
    if token == "azure-native:network:getExpressRouteCircuit":
        return {"name": args.get("circuitName"), "serviceProviderProvisioningState": ctx.circuit_state}
    if token == "equinix:fabric/getServiceProfiles:getServiceProfiles":
        name = ((args.get("filter") or {}).get("values") or ["profile"])[0]
        if name in ctx.service_profiles:
            return {"data": ctx.service_profiles[name]}
        # The metros and bandwidths are not known offline: the stand-in lists none, so nothing is refused.
        return {"data": [{"uuid": _uuid("profile", name), "name": name}]}
    if token == "equinix:fabric/getMetro:getMetro":
        return {"metroCode": args.get("metroCode"),
                "equinixAsn": ctx.metro_asns.get(str(args.get("metroCode")), ctx.fcr_asn)}
    if token == "azure-native:network:getNetworkInterface":
        nic = str(args.get("networkInterfaceName"))
        return {"name": nic, "ipConfigurations": [{"privateIPAddress": ctx.nic_addresses.get(nic, "")}]}
    return {}


class Recorder:
    def __init__(self) -> None:
        self.registrations: list[Registration] = []


def recording_monitor(mocks: Any, recorder: Recorder) -> Any:
    from pulumi.runtime import mocks as pmocks
    from pulumi.runtime import rpc

    class RecordingMonitor(pmocks.MockMonitor):
        """Keeps what the stock mock monitor folds away: parent, protection, dependencies, options."""

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
                timeouts = request.customTimeouts
                recorder.registrations.append(Registration(
                    urn=response.urn, type=request.type, name=request.name, parent=request.parent,
                    custom=bool(request.custom), protect=bool(request.protect), provider=request.provider,
                    inputs=plain(inputs), depends_on=sorted(set(request.dependencies)),
                    options={k: v for k, v in {
                        "replaceOnChanges": list(request.replaceOnChanges),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                        "ignoreChanges": list(request.ignoreChanges),
                        "additionalSecretOutputs": list(request.additionalSecretOutputs),
                        "customTimeouts": {k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                                                             ("delete", timeouts.delete)) if v},
                    }.items() if v},
                    alias_types=[a.spec.type for a in request.aliases if a.HasField("spec") and a.spec.type]))
            return response

        def ReadResource(self, request: Any) -> Any:
            # Reads (StackReference) are part of the plan too: a customer stack depends on its bridge.
            response = super().ReadResource(request)
            recorder.registrations.append(Registration(
                urn=response.urn, type=request.type, name=request.name, parent=request.parent, custom=True,
                protect=False, provider=request.provider,
                inputs=plain(rpc.deserialize_properties(request.properties, keep_unknowns=True)),
                depends_on=sorted(set(request.dependencies)), options={"read": True}))
            return response

    return RecordingMonitor(mocks)


def plain(value: Any) -> Any:
    """Inputs as JSON-able data: secrets shown as [secret], unknowns as [unknown]."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        key = os.environ.get(SECRET_DIGEST_ENV)
        if key:
            inner = json.dumps(plain(value.get("value")), sort_keys=True, default=str)
            return f"[secret:{hmac.new(key.encode(), inner.encode(), hashlib.sha256).hexdigest()[:12]}]"
        return SECRET
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        if rpc._special_sig_key in value:
            return f"[{value.get('urn') or value.get('id') or 'reference'}]"
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def stack_config(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A stack file's config as the engine hands it to a program: ``ns:key`` -> string (structured
    values as JSON), with ``secure:`` values replaced by placeholders and their keys marked secret."""
    flat: dict[str, str] = {}
    secret_keys: list[str] = []

    def scrub(value: Any, path: str) -> tuple[Any, bool]:
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Letters and digits only, 19 characters: valid wherever a secret of this project goes.
            return f"offline{_digest(path, n=12)}", True
        if isinstance(value, dict):
            pairs = {k: scrub(v, f"{path}.{k}") for k, v in value.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
        if isinstance(value, list):
            items = [scrub(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return [v for v, _ in items], any(s for _, s in items)
        return value, False

    for key, value in config.items():
        clean, secret = scrub(value, key)
        if secret:
            secret_keys.append(key)
        if isinstance(clean, dict | list):
            flat[key] = json.dumps(clean)
        elif isinstance(clean, bool):
            flat[key] = "true" if clean else "false"
        else:
            flat[key] = str(clean)
    return flat, secret_keys


@dataclass
class ProgramRun:
    registrations: list[Registration]
    outputs: dict[str, Any]
    raw_outputs: dict[str, Any]
    messages: list[dict[str, str]]


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append({"severity": record.levelname.lower(), "message": record.getMessage()})


@contextlib.contextmanager
def offline_runtime() -> Iterator[None]:
    """What a program run under mocks can do without, undone afterwards:

    * automatic garbage collection while the program runs. Pulumi's output machinery makes many
      short-lived reference cycles, and most of what a run allocates is garbage once it ends.
      Collecting as it goes walks the same young objects again and again, and the collections
      grow costlier as the program grows: a 200-endpoint customer plan spent 40% of its time in
      them, and each endpoint past the 100th cost twice the collecting of one below it.
      Instead the run's objects are collected once, on the way out, while everything older (the
      provider SDKs, the caller's objects) is frozen and skipped, so the collection walks only
      what the run allocated. Its cost is linear in the run's size, and a run leaves no garbage
      for a later collection of the whole heap (the tests and ``bridgectl diff`` run many plans
      in one process; a customer plan runs two programs). The price is memory: the run's garbage
      stays until the run ends (about 20 MiB at 200 endpoints);
    * every registration captures the Python stack for source positions shown by the Pulumi
      service; nothing offline reads them, and with components the stacks are deep.
    """
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    enabled = gc.isenabled()
    capture = runtime_resource._get_stack_trace
    gc.freeze()
    gc.disable()
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = capture
        gc.collect()
        if enabled:
            gc.enable()
        gc.unfreeze()


def run_program(project: Path, stack: str, config: dict[str, Any], ctx: MockContext) -> ProgramRun:
    """Run ``__main__.py`` of ``project`` for ``stack`` under mocks; return what it registered."""
    import pulumi
    from pulumi.runtime import settings

    if not (project / PROGRAM).is_file():
        raise ConfigError([Problem(str(project / PROGRAM), MISSING, "does not exist: the offline plan runs the "
                                   "project's Pulumi program", "run bridgectl in the project directory, or pass -C")])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = Recorder()
    mocks = offline_mocks(ctx)
    monitor = recording_monitor(mocks, recorder)
    logger = logging.getLogger(f"bridge.offline.{stack}")
    logger.propagate = False
    capture = _LogCapture()
    logger.addHandler(capture)
    flat, secret_keys = stack_config(config)
    outputs: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    with offline_runtime():
        try:
            pulumi.runtime.set_mocks(mocks, project="bridge", stack=stack, preview=False, logger=logger,
                                     monitor=monitor, organization="organization")
            pulumi.runtime.set_all_config(flat, secret_keys)

            async def collect() -> None:
                root = settings.get_root_resource()
                assert root is not None
                for key, value in dict(getattr(root, "outputs", {}) or {}).items():
                    out = pulumi.Output.from_input(value)
                    resolved = await out.future(with_unknowns=True)
                    raw[key] = resolved
                    outputs[key] = SECRET if await out.is_secret() else plain(resolved)

            @pulumi.runtime.test
            def program() -> None:
                cwd = Path.cwd()
                sys.path.insert(0, str(project))
                try:
                    os.chdir(project)
                    runpy.run_path(str(project / PROGRAM), run_name="__main__")
                finally:
                    os.chdir(cwd)
                    sys.path.remove(str(project))

            # The stack's outputs are read once the program and all its registrations are done, not
            # awaited from inside it: pulumi's test wrapper would then pump the loop re-entrantly and,
            # on the way out, queue one no-op handle per callback that was pending when it started.
            program()
            loop.run_until_complete(collect())
        except pulumi.RunError as exc:
            problems = [Problem("program", MISSING, r["message"]) for r in capture.records if r["severity"] == "error"]
            raise ConfigError(problems or [Problem("program", MISSING, str(exc))]) from None
        finally:
            pulumi.runtime.reset_options()
            # reset_options keeps the config map: clear it so no other stack's config leaks into a later run.
            pulumi.runtime.set_all_config({}, [])
            logger.removeHandler(capture)
            drain(loop)
            asyncio.set_event_loop(None)
            loop.close()
    return ProgramRun(recorder.registrations, outputs, raw, capture.records)


def drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a stopped program left pending (a run that raised leaves registrations waiting on
    the failed output), so closing the loop does not print "Task was destroyed but it is pending"."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _nic_addresses(plan: CustomerPlan, bridge: BridgePlan) -> dict[str, str]:
    """Stable stand-in private addresses for a customer's Azure endpoints: in order, from .4 of the
    endpoint subnet of the hub or of the customer's endpoint spoke (Azure keeps the first four addresses)."""
    subnet: ipaddress.IPv4Network = bridge.endpoint_subnet(plan.endpoint_spoke)
    # By the name the cloud resources carry (a renamed endpoint keeps its address).
    azure = sorted(ep.identity or ep.name for ep in plan.endpoints if ep.cloud == "azure")
    # Browser-authentication endpoints (Azure Databricks) after them, so the others keep their addresses.
    azure += sorted(f"{ep.identity or ep.name}-auth" for ep in plan.endpoints
                    if ep.cloud == "azure" and ep.browser_auth_region)
    return {f"nic-pe-{plan.customer}-{name}": str(subnet.network_address + 4 + i) for i, name in enumerate(azure)}


def _context(loaded: Loaded, bridge: BridgeSpec) -> MockContext:
    plan = plan_bridge(bridge)
    return MockContext(stack=loaded.spec.stack, subscription=bridge.azure_subscription_id,
                       account=bridge.aws.account_id, region=bridge.aws_region, fcr_asn=plan.fcr_asn,
                       metro_asns=dict(plan.metro_asns))


def _customer_context(loaded: Loaded, bridge: BridgeSpec) -> MockContext:
    # No FCR ASN: only the cloud router's mock and the metro lookup answer with it, and a customer
    # stack registers neither (it makes no Equinix call), so a customer plan does not depend on it.
    return MockContext(stack=loaded.spec.stack, subscription=bridge.azure_subscription_id,
                       account=bridge.aws.account_id, region=bridge.aws_region)


# --- what a customer plan reads of its bridge, and one bridge run per process -------------------------
#
# A customer plan needs its bridge's stack outputs (the StackReference). They depend on the bridge's
# config, on the program's code and on which of its resources are shown replaced, and on nothing else,
# so one run of the bridge's program serves every customer of it planned in this process.

#: the files of the program (and of the mocks that answer it): their contents decide every plan
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "pyproject.toml", "uv.lock", "bridgectl/offline.py")
PROGRAM_DIRS = ("components", "stacks")
#: the bridge stack outputs a customer stack reads (stacks/customer.py: ``ref.require_output``);
#: tests/test_scale.py traces the reads of a customer plan against this list
CUSTOMER_READS = ("customerAttachment",)
#: parts of a bridge's spec that no customer stack reads (the exchange, its BGP addressing and keys,
#: the circuits, the alarms, the IPsec backup path): a change to them alone leaves every customer plan as it
#: was (tests/test_scale.py plans a customer under a bridge with all of them changed and compares;
#: tests/test_vpn_backup.py the backup)
BRIDGE_ONLY = ("exchange", "addressing", "bgp_auth_keys", "alarms", "azure.circuit", "azure.second_circuit",
               "vpn_backup")
#: bridge runs kept per process (a snapshot plans the customers of one bridge together)
BRIDGE_CACHE_SIZE = 8

_BRIDGE_OUTPUTS: dict[tuple[str, ...], dict[str, Any]] = {}
_PROGRAM_DIGESTS: dict[tuple[Any, ...], str] = {}
#: how many times this process ran a bridge stack's program (tests count them)
bridge_program_runs = 0


def program_files(project: Path) -> list[Path]:
    """The files whose contents decide a plan: the program, its packages and lock, and the mocks."""
    files = [project / f for f in PROGRAM_FILES if (project / f).is_file()]
    for d in PROGRAM_DIRS:
        files += sorted(p for p in (project / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def program_digest(project: Path) -> str:
    """A content hash of :func:`program_files` (re-read only when a file's size or time changes)."""
    files = program_files(project)
    stamp: list[Any] = [str(project)]
    for f in files:
        st = f.stat()
        stamp.append((str(f.relative_to(project)), st.st_mtime_ns, st.st_size))
    key = tuple(stamp)
    digest = _PROGRAM_DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.relative_to(project)).encode() + b"\0" + f.read_bytes() + b"\0")
        digest = _PROGRAM_DIGESTS[key] = h.hexdigest()
    return digest


def _config_digest(config: Any) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def bridge_outputs(project: Path, loaded: Loaded, replaced: frozenset[tuple[str, str]] = frozenset(),
                   runs: list[ProgramRun] | None = None) -> dict[str, Any]:
    """The bridge stack's outputs as its program exports them, run once per process for each bridge
    config, program code and set of replaced resources (``runs``, the benchmarks' replay, always runs
    it again, so the replay sees its registrations)."""
    spec = loaded.spec
    assert isinstance(spec, BridgeSpec)
    key = _bridge_key(project, loaded, replaced)
    cached = _BRIDGE_OUTPUTS.get(key)
    if cached is not None and runs is None:
        _BRIDGE_OUTPUTS[key] = _BRIDGE_OUTPUTS.pop(key)  # most recently used last
        return cached
    ctx = _context(loaded, spec)
    ctx.replaced = replaced
    run = _run_bridge(project, loaded, ctx)
    if runs is not None:
        runs.append(run)
    return run.raw_outputs


def _bridge_key(project: Path, loaded: Loaded, replaced: frozenset[tuple[str, str]]) -> tuple[str, ...]:
    return (str(project.resolve()), loaded.spec.stack, _config_digest(loaded.config), program_digest(project),
            json.dumps(sorted(replaced)))


def _run_bridge(project: Path, loaded: Loaded, ctx: MockContext) -> ProgramRun:
    """Run a bridge's program (counted); a steady-state run's outputs serve its customers after it."""
    global bridge_program_runs
    run = run_program(project, loaded.spec.stack, dict(loaded.config), ctx)
    bridge_program_runs += 1
    if ctx.circuit_state == "Provisioned":
        _BRIDGE_OUTPUTS[_bridge_key(project, loaded, ctx.replaced)] = run.raw_outputs
        while len(_BRIDGE_OUTPUTS) > BRIDGE_CACHE_SIZE:
            _BRIDGE_OUTPUTS.pop(next(iter(_BRIDGE_OUTPUTS)))
    return run


def _as_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_as_data(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def customer_view(bridge: BridgeSpec) -> dict[str, Any]:
    """The bridge's spec less :data:`BRIDGE_ONLY`: what its customers' plans read of it."""
    view = _as_data(bridge)
    for path in BRIDGE_ONLY:
        *parents, leaf = path.split(".")
        where = view
        for part in parents:
            where = where.get(part, {})
        where.pop(leaf, None)
    return dict(view)


def customer_inputs(project: Path, bridge_stack: str, replaced: dict[str, list[str]] | None = None) -> str:
    """A content hash of everything a customer plan reads of its bridge: the bridge's spec less what
    only the bridge reads (:func:`customer_view`), the outputs it reads (:data:`CUSTOMER_READS`,
    from the bridge's own program run, with ``replaced`` resources renewed as in :func:`offline_plan`)
    and the program's code. Two revisions in which it is equal (and in which a customer's own file is
    the same) give that customer the same plan."""
    loaded = load_stack(project, bridge_stack)
    assert isinstance(loaded.spec, BridgeSpec)
    renewed = frozenset(urn_key(u) for u in (replaced or {}).get(bridge_stack, []))
    outputs = bridge_outputs(project, loaded, renewed)
    data = {"view": customer_view(loaded.spec), "outputs": {k: _as_data(outputs.get(k)) for k in CUSTOMER_READS},
            "program": program_digest(project)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def duplicate_urns(registrations: list[Registration]) -> list[Problem]:
    """The engine rejects a program that registers one URN twice; mocks do not, so check here."""
    counts: dict[str, int] = {}
    for reg in registrations:
        counts[reg.urn] = counts.get(reg.urn, 0) + 1
    return [Problem(urn, count, "is registered more than once (duplicate URN); the engine would reject the "
                    "program", "give the resources distinct names") for urn, count in counts.items() if count > 1]


def urn_key(urn: str) -> tuple[str, str]:
    """(type, name) of a URN: ``urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME``."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


def offline_plan(project: Path, stack: str, *, circuit_state: str = "Provisioned",
                 runs: list[ProgramRun] | None = None,
                 replaced: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The offline plan of a stack as JSON-able data:
    ``{"stack", "kind", "resources": [{"urn", "type", "name", "parent", "protect", "inputs", "dependsOn",
    "custom", "provider", "options"}], "outputs", "messages", "notes"}``. Raises ConfigError (bad config,
    or duplicate URNs). ``runs`` collects the program runs themselves (the benchmarks use them).
    ``replaced`` (stack -> URNs) plans those resources as recreated (:class:`MockContext`), in this
    stack and, for a customer, in its bridge, whose outputs the customer reads."""
    replaced = replaced or {}

    def renewed(name: str) -> frozenset[tuple[str, str]]:
        return frozenset(urn_key(u) for u in replaced.get(name, []))

    loaded = load_stack(project, stack)
    spec = loaded.spec
    if isinstance(spec, BridgeSpec):
        ctx = _context(loaded, spec)
        ctx.circuit_state = circuit_state
        ctx.replaced = renewed(spec.stack)
        run = _run_bridge(project, loaded, ctx)
        notes = [STEADY_STATE_NOTE] if circuit_state == "Provisioned" else []
        notes += list(plan_bridge(spec).notes)
    else:
        assert isinstance(spec, CustomerSpec)
        bridge_loaded = load_stack(project, spec.bridge_stack)
        bridge_spec = bridge_loaded.spec
        assert isinstance(bridge_spec, BridgeSpec)
        # The bridge's program runs once per process for all its customers (bridge_outputs).
        outputs = bridge_outputs(project, bridge_loaded, renewed(bridge_spec.stack), runs)
        ctx = _customer_context(loaded, bridge_spec)
        ctx.replaced = renewed(spec.stack)
        ctx.stack_references[f"organization/bridge/{bridge_spec.stack}"] = outputs
        ctx.nic_addresses = _nic_addresses(plan_customer(spec, bridge_spec), plan_bridge(bridge_spec))
        run = run_program(project, spec.stack, dict(loaded.config), ctx)
        notes = [f"The bridge stack's outputs come from its own offline plan ({bridge_spec.stack})."]
    if runs is not None:
        runs.append(run)
    problems = duplicate_urns(run.registrations)
    if problems:
        raise ConfigError(problems, loaded.path.name)
    resources = [{
        "urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent or None, "protect": r.protect,
        "custom": r.custom, "provider": r.provider or None, "inputs": r.inputs, "dependsOn": r.depends_on,
        "options": r.options,
    } for r in sorted(run.registrations, key=lambda r: r.urn)]
    return {"stack": spec.stack, "kind": spec.kind, "resources": resources, "outputs": run.outputs,
            "messages": run.messages, "notes": notes}
