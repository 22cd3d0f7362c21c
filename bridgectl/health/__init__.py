"""``bridgectl health``: the live bridge against its plan.

:mod:`bridgectl.health.model` holds what the readers observe (provider-neutral) and the one
evaluation, :func:`~bridgectl.health.model.evaluate`, which compares it with the plan. Readers
(each imports its SDK only when it runs, so ``bridgectl --help`` stays fast):

* :mod:`bridgectl.health.aws`: Direct Connect virtual interfaces, their BGP peers and the hosted
  connections (boto3);
* :mod:`bridgectl.health.azure`: the circuit, its private peering, the Microsoft edges' route,
  route-summary and ARP tables, the ExpressRoute gateway's learned routes (azure-mgmt-network);
* :mod:`bridgectl.health.equinix`: the Fabric Cloud Routers, their connections, routing protocols
  and route tables (Fabric v4 REST over urllib);
* :mod:`twin.health`: the twin's FRR routers, so the evaluation is tested against real BGP.
"""
