"""WeChat's field rules are applied before anything is sent."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from notifications.templates import format_value


def test_thing_is_cut_to_twenty_characters():
    value = format_value("thing1", "宝林一村居委会关于二〇二六年冬季加装电梯议事结果的通知")
    assert len(value) == 20 and value.endswith("…")


def test_short_fields_are_cut_and_empty_becomes_dash():
    assert format_value("phrase2", "已经受理完成") == "已经受理完"
    assert format_value("name3", "一二三四五六七八九十十一") == "一二三四五六七八九十"
    assert format_value("thing4", "") == "-"
    assert format_value("character_string5", "单号 A-12345") == "A-12345"
    assert format_value("number6", "共 12 人") == "12"


def test_times_are_formatted_in_shanghai_time():
    moment = dt.datetime(2026, 11, 27, 6, 30, tzinfo=dt.UTC)
    assert format_value("time3", moment) == "2026年11月27日 14:30"
    assert format_value("date2", dt.date(2026, 1, 5)) == "2026年1月5日"
    assert format_value("time1", "2026-11-27T14:30:00+08:00") == "2026年11月27日 14:30"
    assert format_value("time1", dt.datetime(2026, 11, 27, 23, 59, tzinfo=ZoneInfo("Asia/Shanghai"))) == "2026年11月27日 23:59"


def test_newlines_are_flattened():
    assert format_value("thing1", "第一行\n第二行") == "第一行 第二行"
