import re

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from collab.engine import scenarios
from collab.engine.scenarios.base import play_scripted
from collab.live.charts import PALETTE, nice_ticks, render_chart


def line(x, *series, title="Lake"):
    return {"type": "line", "title": title, "x": x,
            "series": [{"name": name, "values": values} for name, values in series]}


def test_line_chart_with_two_series():
    html = render_chart(line([1, 2, 3], ("Lake", [100, 80, 60]), ("Catch", [20, 25, 30])))
    assert isinstance(html, SafeString)
    assert '<figure class="chart chart-line" id="scenario-chart" data-points="3">' in html
    assert html.count("<polyline") == 2
    assert html.count("<circle") == 6
    assert '<figcaption class="chart-title" id="scenario-chart-title">Lake</figcaption>' in html
    svg = re.search(r"<svg[^>]*>", html).group(0)
    assert 'viewBox="0 0 ' in svg and 'width="100%"' in svg and "height=" not in svg
    assert PALETTE[0] in html and PALETTE[1] in html  # distinct colours
    assert html.count('class="swatch') == 2 and ">Catch</li>" in html  # legend
    assert "<title>3 · Catch: 30</title>" in html  # hover value
    assert "<script" not in html


def test_y_ticks_are_nice_and_start_at_zero():
    assert nice_ticks(3, 97) == [0, 25, 50, 75, 100]
    assert nice_ticks(0, 0) == [0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(-3, 7)[0] < 0 < nice_ticks(-3, 7)[-1]
    html = render_chart(line(["a", "b"], ("s", [0.2, 0.7])))
    assert ">0</text>" in html and ">0.8</text>" in html


def test_labels_and_titles_are_escaped():
    html = render_chart(line(['<b>"m"</b>'], ("<script>x</script>", [1]), title="<img src=x onerror=alert(1)>"),
                        dom_id='x" onload="y')
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'id="x&quot; onload=&quot;y"' in html


def test_empty_charts_render_a_placeholder():
    for chart in (None, {}, line([]), line([], ("Lake", [])), line([1, 2], ("Lake", [None, None])), "junk"):
        html = render_chart(chart, dom_id="c")
        assert 'id="c" data-points="0"' in html and "No data yet" in html
        assert "<svg" not in html
    assert "<figcaption class=\"chart-title\">Lake</figcaption>" in render_chart(line([], ("Lake", [])))


def test_bar_chart_renders_grouped_rects():
    chart = {"type": "bar", "title": "Rubric", "x": ["Plan", "Impact"],
             "series": [{"name": "A", "values": [1, 0]}, {"name": "B", "values": [2, 3]}]}
    html = render_chart(chart)
    assert html.count("<rect") == 4  # a zero is still a hairline bar
    assert "<polyline" not in html and 'data-points="2"' in html
    widths = set(re.findall(r'<rect[^>]* width="([\d.]+)"', html))
    assert len(widths) == 1


def test_none_values_are_skipped():
    html = render_chart(line([1, 2, 3, 4, 5], ("Lake", [10, None, 30, 40, "n/a"])))
    assert html.count("<circle") == 3
    assert html.count("<polyline") == 1  # the gap breaks the line; a lone point is just a circle
    assert "None" not in html and "n/a" not in html


def test_ragged_series_single_point_and_missing_x():
    html = render_chart(line([1, 2, 3], ("long", [1, 2, 3, 4, 5]), ("short", [7])))
    assert 'data-points="3"' in html and html.count("<circle") == 4
    single = render_chart(line([1], ("Lake", [100])))
    assert 'data-points="1"' in single and single.count("<circle") == 1 and "<polyline" not in single
    numbered = render_chart(line([], ("Lake", [5, 6])))
    assert 'data-points="2"' in numbered


def test_many_x_labels_are_thinned():
    x = list(range(1, 101))
    html = render_chart(line(x, ("s", x)))
    assert 'data-points="100"' in html
    assert 0 < html.count('class="chart-xlabel"') <= 25


def test_template_renders_metrics_and_chart():
    chart_html = render_chart(line([1, 2, 3], ("Lake", [100, 80, 60])))
    html = render_to_string("live/scenario_live.html", {
        "chart_html": chart_html, "title": "Fishery <GovSim>", "oob": True,
        "metrics": {"months_played": 3, "survived": True, "collapsed": False, "efficiency": 0.666666,
                    "gains": {"John": 10, "<Kate>": 12.5}, "mode": "split", "rates": [0.5, 0.25],
                    "best": None, "scores": {"A": {"plan": 2}}}})
    assert '<div id="scenario-live" class="scenario-live" hx-swap-oob="true">' in html
    assert "Fishery &lt;GovSim&gt;" in html
    assert "<th scope=\"row\">Months played</th>" in html
    assert re.search(r'data-metric="survived">\s*<th[^>]*>Survived</th>\s*<td>yes</td>', html)
    assert re.search(r'data-metric="collapsed">\s*<th[^>]*>Collapsed</th>\s*<td>no</td>', html)
    assert "0.667" in html and "0.666666" not in html
    assert '<span class="metric-key">John:</span> 10</li>' in html
    assert '<span class="metric-key">&lt;Kate&gt;:</span> 12.500</li>' in html
    assert "0.500, 0.250" in html and ">split<" in html and "plan=2" in html
    assert 'data-points="3"' in html and "<polyline" in html  # chart_html is not escaped
    plain = render_to_string("live/scenario_live.html", {"chart_html": render_chart(None), "metrics": {}, "oob": False})
    assert "hx-swap-oob" not in plain and "<table" not in plain and "No data yet" in plain


def test_every_scenario_chart_renders():
    for scenario in scenarios.all_scenarios():
        roles = [r["name"] for r in scenario.default_roles]
        state = scenario.initial_state(scenario.params({}), roles, 0)
        assert "<figure" in render_chart(scenario.chart(state))  # before the first move
        final, _ = play_scripted(scenario, roles, scenario.strategies[0], seed=1)
        chart = scenario.chart(final)
        html = render_chart(chart)
        assert f'data-points="{len(chart["x"])}"' in html and "<svg" in html, scenario.key
