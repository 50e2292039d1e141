"""The site's configuration as the edge runs it: loaded from a file now, from the sync replica later.

errors.py   SiteConfigInvalid: every problem, naming file, document and field
site.py     SiteConfig: validated documents, per-module ModuleConfig, system lookups
loader.py   load_site_config(path): YAML or JSON file -> SiteConfig
source.py   SiteConfigSource seam (snapshot + changes); FileConfigSource, StaticConfigSource
"""
