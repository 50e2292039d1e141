"""Cluster on a site: etcd membership with fencing, rendezvous placement of modules on nodes."""
