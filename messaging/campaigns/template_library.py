"""The tags and filters a campaign's message template may use: Django's, less those that read
the server (`debug`, `load`, `include`, `extends`, `url`, `csrf_token`), loop (`for`, `cycle`)
or pad without bound (`center`, `ljust`, `rjust`, `stringformat`), since the template is the
client's and is rendered once per recipient."""

from django.template import Library, defaultfilters, defaulttags

FORBIDDEN_TAGS = frozenset(
    {"debug", "load", "url", "csrf_token", "for", "cycle", "resetcycle", "ifchanged", "regroup", "widthratio", "lorem"}
)
FORBIDDEN_FILTERS = frozenset({"center", "ljust", "rjust", "stringformat", "pprint", "linenumbers"})

register = Library()
register.tags.update({name: tag for name, tag in defaulttags.register.tags.items() if name not in FORBIDDEN_TAGS})
register.filters.update(
    {name: filter_ for name, filter_ in defaultfilters.register.filters.items() if name not in FORBIDDEN_FILTERS}
)
