"""The BGP twin: the planned bridge as FRR routers in network namespaces, broken on purpose and measured.

``bridgectl twin STACK`` is the entry point (bridgectl/commands/twin.py); docs/twin.md says what the
twin models, what it does not, and how to read its results.

* :mod:`twin.render`: the plan as a lab (nodes, veth links, BGP sessions), FRR configs, and the routes
  each router should hold;
* :mod:`twin.sandbox`: runs labs in sandboxes (fresh PID, mount and network namespaces) from the host,
  follows their progress, and makes sure nothing outlives them;
* :mod:`twin.runner`, :mod:`twin.lab`, :mod:`twin.checks`, :mod:`twin.scenarios`: inside a sandbox, build
  the lab, check it converged, inject each fault and measure;
* :mod:`twin.probe`: the UDP probe between the VPC host and the VNet host;
* :mod:`twin.model`: the lab as plain data, passed from host to sandbox as JSON.
"""
