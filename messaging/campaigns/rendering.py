"""Message templates: Django template syntax, autoescape off, rendered with the recipient's
context over the contact's fields (SPEC §7). A variable the recipient lacks renders empty and
is counted."""

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template, VariableNode
from django.template.defaulttags import WithNode

MAX_BODY = 1600  # SPEC §7: message bodies are at most 1600 characters


class _Engine(Engine):
    # Only the tags and filters of template_library: Django's defaults are always added
    # to an engine's builtins otherwise.
    default_builtins: list[str] = []


# No loaders: a template cannot reach a file.
ENGINE = _Engine(
    autoescape=False,
    builtins=["messaging.campaigns.template_library"],
    libraries={},
    loaders=[],
)

# The contact's fields a template may use, by these names; the recipient's context wins.
CONTACT_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "email",
    "company_name",
    "city",
    "state",
    "zipcode",
    "country",
    "timezone",
    "csf1",
    "csf2",
)


DEFAULTING_FILTERS = frozenset({"default", "default_if_none"})


class InvalidTemplate(ValueError):
    pass


def template_compile(source: str) -> Template:
    try:
        template = Template(source, engine=ENGINE)
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(str(exc)) from None
    return template


def template_variables(template: Template) -> frozenset[str]:
    """The names the template prints (the first part of `{{ contact.city }}` is `contact`),
    less those a `{% with %}` binds and those given a `default`."""
    names = set()
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        if any(func.__name__ in DEFAULTING_FILTERS for func, _args in node.filter_expression.filters):
            continue
        var = node.filter_expression.var
        lookups = getattr(var, "lookups", None)
        if lookups:
            names.add(lookups[0])
    bound = set()
    for node in template.nodelist.get_nodes_by_type(WithNode):
        bound |= set(node.extra_context)
    return frozenset(names - bound)


def contact_values(contact) -> dict[str, str]:
    if contact is None:
        return {}
    values = {field: getattr(contact, field, "") or "" for field in CONTACT_FIELDS}
    values["phone"] = contact.phone_number or ""
    return {key: value for key, value in values.items() if value}


def missing_variables(variables: frozenset[str], *, context: dict, contact_fields: dict) -> list[str]:
    return sorted(name for name in variables if name not in context and name not in contact_fields)


def render(template: Template, *, context: dict, contact_fields: dict) -> str:
    return template.render(Context({**contact_fields, **context}, autoescape=False)).strip()
