"""物联感知's tables (docs/sensors.md): vendors' integrations, places and consented homes, the
device registry, raw events as pushed, and the alert row each sensor case has on the engine.

Where a device sits is either an elder's home — a `residents.Beneficiary` (residents sits below
the domain apps, so sensors may point at it) with a `HomeConsent` recorded before a device is
bound — or a `Place` of the neighborhood (an e-bike shed, a building group's stairwell).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from cases.models import Case
from core.crypto import EncryptedTextField
from residents.households import household_building_group_id
from residents.models import Beneficiary, Region


class Integration(models.Model):
    """One vendor's IoT platform pushing to us. Its secret signs each push (HMAC-SHA256), so it
    must be recoverable: stored encrypted with the field keys (core.crypto), never hashed."""

    name = models.CharField("名称", max_length=64)
    vendor = models.CharField("厂商代码", max_length=32, help_text="与设备清单中的厂商代码一致")
    secret = EncryptedTextField("签名密钥", help_text="加密保存；用于校验推送签名")
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "平台接入"
        verbose_name_plural = "平台接入"

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """A place that is not a home: an e-bike shed, a building group, a public room."""

    class Kind(models.TextChoices):
        SHED = "shed", "非机动车棚"
        BUILDING_GROUP = "building_group", "楼组"
        OTHER = "other", "其他"

    name = models.CharField("名称", max_length=64)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.OTHER)
    region = models.ForeignKey(Region, verbose_name="所在居委/村", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "场所"
        verbose_name_plural = "场所"
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="sensor_place_unique_name")]

    def __str__(self) -> str:
        return self.name


class HomeConsent(models.Model):
    """The elder's (or their family's) consent to sensors in the home, recorded before a device is
    bound to it; withdrawing it unbinds the home's devices (sensors.actions.consents)."""

    class GivenBy(models.TextChoices):
        ELDER = "elder", "老人本人"
        FAMILY = "family", "家属"

    class Method(models.TextChoices):
        PAPER = "paper", "书面签字"
        APP = "app", "小程序确认"
        VERBAL = "verbal", "口头（工作人员见证）"

    beneficiary = models.ForeignKey(Beneficiary, verbose_name="老人", on_delete=models.CASCADE, related_name="+")
    given_by = models.CharField("同意人", max_length=8, choices=GivenBy.choices)
    given_by_name = models.CharField("同意人姓名", max_length=32)
    method = models.CharField("方式", max_length=8, choices=Method.choices)
    given_at = models.DateTimeField("同意时间")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    inactivity_hours = models.PositiveSmallIntegerField(
        "无活动提醒(白天小时)", null=True, blank=True,
        help_text="白天连续多少小时无人体/门磁活动即生成上门探视任务；留空用系统默认值（SENSOR_INACTIVITY_HOURS）",
    )

    class Meta:
        verbose_name = "居家设备授权"
        verbose_name_plural = "居家设备授权"
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"], condition=Q(withdrawn_at__isnull=True), name="sensor_home_one_active_consent"
            )
        ]


class Device(models.Model):
    class Kind(models.TextChoices):
        # Room for more: a new kind is a new row here (and, if it raises alarms, in rules.ALARM_KINDS).
        INFRARED = "infrared", "红外人体"
        DOOR = "door", "门磁"
        SMOKE = "smoke", "烟感"
        GAS = "gas", "燃气"
        WATER = "water", "水浸"
        PANIC = "panic", "紧急按钮"

    class State(models.TextChoices):
        NORMAL = "normal", "正常"
        ALARM = "alarm", "报警中"
        FAULT = "fault", "故障"
        RETIRED = "retired", "停用"

    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    vendor = models.CharField("厂商代码", max_length=32)
    vendor_device_id = models.CharField("厂商设备编号", max_length=64)
    region = models.ForeignKey(Region, verbose_name="所在居委/村", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey(
        Beneficiary, verbose_name="老人住所", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="装在老人家中时填写；须先登记授权",
    )
    place = models.ForeignKey(Place, verbose_name="场所", null=True, blank=True, on_delete=models.PROTECT, related_name="devices")
    building_group = models.ForeignKey(
        Region, verbose_name="所在楼组", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
        help_text="填写后，该设备的报警和上门探视任务同时告知本楼组的楼组长",
    )
    heartbeat_timeout_minutes = models.PositiveIntegerField(
        "心跳超时(分钟)", null=True, blank=True,
        help_text="超过该时长无心跳即为离线并生成维护任务；留空用系统默认值（SENSOR_HEARTBEAT_TIMEOUT_MINUTES）",
    )
    battery = models.PositiveSmallIntegerField("电量(%)", null=True, blank=True)
    battery_at = models.DateTimeField("电量上报时间", null=True, blank=True)
    last_heartbeat = models.DateTimeField("最近心跳", null=True, blank=True)
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.NORMAL)
    installed_at = models.DateTimeField("安装时间", auto_now_add=True)

    class Meta:
        verbose_name = "感知设备"
        verbose_name_plural = "感知设备"
        constraints = [
            models.UniqueConstraint(fields=["vendor", "vendor_device_id"], name="sensor_device_vendor_id"),
            models.CheckConstraint(
                condition=~(Q(home__isnull=False) & Q(place__isnull=False)), name="sensor_device_one_placement"
            ),
            models.CheckConstraint(
                condition=Q(battery__isnull=True) | Q(battery__lte=100), name="sensor_device_battery_pct"
            ),
        ]
        indexes = [models.Index(fields=["region", "kind"], name="sensor_device_region_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.vendor}/{self.vendor_device_id}"

    def clean(self) -> None:
        """Every form that binds a device (the admin's among them) checks the elder's consent and
        that its building group is one of its neighborhood's, and fills an empty building group of
        a home device from the elder's household (residents.households); the CSV import does the
        same per row (sensors.actions.devices)."""
        super().clean()
        if self.home_id and not self.building_group_id:
            # Bound to a home without a building group: the elder's household's (docs/sensors.md).
            group_id = household_building_group_id(self.home_id)
            if group_id and Region.objects.filter(pk=group_id, parent_id=self.region_id).exists():
                self.building_group_id = group_id
        if self.home_id and not HomeConsent.objects.filter(beneficiary_id=self.home_id, withdrawn_at__isnull=True).exists():
            raise ValidationError({"home": "该老人尚未登记居家设备授权（老人本人或家属同意），不能绑定设备"})
        if self.building_group_id and not Region.objects.filter(
            pk=self.building_group_id, level=Region.Level.BUILDING_GROUP, parent_id=self.region_id
        ).exists():
            raise ValidationError({"building_group": "所选楼组不属于该居委/村"})

    @property
    def where(self) -> str:
        if self.place_id:
            return self.place.name
        if self.home_id:
            return "老人住所"  # no name or address in titles, pushes or logs
        return "未绑定"


class SensorEvent(models.Model):
    """One event as the vendor pushed it, kept raw. Unique per (integration, vendor's event id),
    so a resent batch stores nothing twice; `batch` tells the insert that won from a duplicate."""

    class Type(models.TextChoices):
        READING = "reading", "读数"
        ALARM = "alarm", "报警"
        HEARTBEAT = "heartbeat", "心跳"
        BATTERY = "battery", "电量"

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="+")
    vendor_event_id = models.CharField(max_length=64)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16, choices=Type.choices)
    occurred_at = models.DateTimeField()
    value = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    batch = models.UUIDField(help_text="the push that stored it")

    class Meta:
        verbose_name = "设备事件"
        verbose_name_plural = "设备事件"
        constraints = [
            models.UniqueConstraint(fields=["integration", "vendor_event_id"], name="sensor_event_idempotent"),
        ]
        indexes = [
            # The retention purge deletes by age, oldest first.
            models.Index(fields=["received_at", "id"], name="sensor_event_age"),
            models.Index(fields=["device", "occurred_at"], name="sensor_event_device_time"),
        ]


class SensorCase(models.Model):
    """A case on the engine opened by a rule for one device. One open per device and rule (the
    partial unique constraint): a flapping sensor adds readings to it, not cases."""

    class Rule(models.TextChoices):
        ALARM = "alarm", "报警"
        # sensors.actions.rules: a lone elder with no activity, a silent device, a low battery.
        INACTIVITY = "inactivity", "上门探视"
        HEARTBEAT = "heartbeat", "设备离线"
        BATTERY = "battery", "电量低"

    class Outcome(models.TextChoices):
        REAL = "real", "确有警情"
        FALSE_ALARM = "false_alarm", "误报"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="sensor_cases")
    rule = models.CharField("规则", max_length=16, choices=Rule.choices)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="sensor_case")
    is_open = models.BooleanField(default=True)
    alarm_count = models.PositiveIntegerField("报警次数", default=1)
    outcome = models.CharField("处置结果", max_length=16, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "设备告警案件"
        verbose_name_plural = "设备告警案件"
        constraints = [
            models.UniqueConstraint(fields=["device", "rule"], condition=Q(is_open=True), name="sensor_case_one_open"),
        ]


class DeviceDayAggregate(models.Model):
    """What is kept of a device's raw events once the retention purge deletes them: per device and
    Shanghai day, the count of each event type and the battery's min, max and last reading
    (sensors.pipl.purge_raw_events writes these before the raw rows go). Still the home's
    personal data: export and erasure cover them like the raw events."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="day_aggregates")
    day = models.DateField("日期")
    readings = models.PositiveIntegerField("读数", default=0)
    alarms = models.PositiveIntegerField("报警", default=0)
    heartbeats = models.PositiveIntegerField("心跳", default=0)
    batteries = models.PositiveIntegerField("电量上报", default=0)
    battery_min = models.PositiveSmallIntegerField("最低电量", null=True, blank=True)
    battery_max = models.PositiveSmallIntegerField("最高电量", null=True, blank=True)
    battery_last = models.PositiveSmallIntegerField("当日最后电量", null=True, blank=True)
    battery_last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "设备日汇总"
        verbose_name_plural = "设备日汇总"
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="sensor_day_aggregate_unique")]
