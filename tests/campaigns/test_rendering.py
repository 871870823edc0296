"""Message templates: Django syntax, no autoescape, only safe tags, variables counted."""

import pytest

from messaging.campaigns import rendering


def render(source, context=None, contact_fields=None):
    template = rendering.template_compile(source)
    return rendering.render(template, context=context or {}, contact_fields=contact_fields or {})


def test_renders_context_over_contact_fields_without_escaping():
    body = render(
        "Hi {{ first_name }} & {{ partner }} <3, {{ appointment.time }} at {{ city|upper }}",
        context={"first_name": "Ada", "partner": "Tom & Jerry", "appointment": {"time": "10:30"}},
        contact_fields={"first_name": "Augusta", "city": "London"},
    )
    assert body == "Hi Ada & Tom & Jerry <3, 10:30 at LONDON"


def test_a_missing_variable_renders_empty():
    assert render("Hi {{ first_name }}!") == "Hi !"
    assert render("Hi {{ first_name|default:'there' }}!") == "Hi there!"
    assert render("{% if vip %}VIP {% endif %}offer") == "offer"


def test_variables_printed_are_found_less_defaults_and_with():
    template = rendering.template_compile(
        "{{ a }} {{ b.c }} {{ d|default:'x' }} {% with e=a %}{{ e }}{% endwith %} {% if f %}{{ g }}{% endif %}"
    )
    assert rendering.template_variables(template) == {"a", "b", "g"}
    assert rendering.missing_variables(
        rendering.template_variables(template), context={"a": 1}, contact_fields={"g": "x"}
    ) == ["b"]


@pytest.mark.parametrize(
    "source",
    [
        "{% debug %}",
        "{% load static %}",
        "{% include 'base.html' %}",
        "{% extends 'base.html' %}",
        "{% for x in y %}{% endfor %}",
        "{% url 'admin:index' %}",
        "{{ x|center:'100000000' }}",
        "{{ x|stringformat:'100000000s' }}",
        "{% if %}",
    ],
)
def test_tags_and_filters_that_reach_the_server_or_grow_without_bound_are_refused(source):
    with pytest.raises(rendering.InvalidTemplate):
        rendering.template_compile(source)
