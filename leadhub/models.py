"""No models: the module lets Django send post_migrate to LeadhubConfig (leadhub/apps.py),
which puts row-level security on tenant tables that later migrations add."""
