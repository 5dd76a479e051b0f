"""The dashboard's table bodies are built in Python (console.export.Table.body_html) for speed;
they must be exactly what the template loop they replaced rendered: escaped, localized, None as —."""

from decimal import Decimal

from django.template import Context, Template

from console.export import Table

OLD_LOOP = Template(
    '{% for row in table.rows %}<tr>{% for v in row %}{% if forloop.first %}<th scope="row">{{ v }}</th>'
    '{% else %}<td>{{ v|default_if_none:"—" }}</td>{% endif %}{% endfor %}</tr>{% endfor %}'
)


def test_body_html_is_what_the_template_loop_rendered():
    table = Table(
        "t",
        "标题",
        ["居委/村", "a", "b", "c", "d"],
        [
            ["宝林一村居委会", 10, "30.0%", None, 2.5],
            ['<script>alert("x")</script> & 楼', 0, Decimal("1.25"), "—", 1234567],
            ["合计", 3, None, None, 0.1],
        ],
    )
    assert str(table.body_html()) == OLD_LOOP.render(Context({"table": table}))
    assert "<script>" not in table.body_html()
