"""Seed the service catalog: 9 大类, 48 小类 (so tests, demo and production start with it).

The data is written out here rather than imported, so later edits to the catalog (in the
admin) never change what this migration did. Re-running is harmless: rows are matched by code.
"""

from datetime import timedelta

from django.db import migrations

H = 3600  # seconds in an hour

DIET = {"key": "diet", "label": "饮食要求", "type": "choice", "required": True, "choices": ["普通", "低盐", "低糖", "流质"]}
MEAL_SLOT = {"key": "time_slot", "label": "用餐时段", "type": "choice", "required": True, "choices": ["午餐", "晚餐"]}
PORTIONS = {"key": "portions", "label": "份数", "type": "number", "required": False}
VISIT_DATE = {"key": "visit_date", "label": "上门日期", "type": "date", "required": False}
VISIT_TIME = {"key": "visit_time", "label": "上门时间", "type": "time", "required": False}
HOSPITAL = {"key": "hospital", "label": "医院", "type": "string", "required": True}
DEPARTMENT = {"key": "department", "label": "科室", "type": "string", "required": False}
WHEELCHAIR = {"key": "needs_wheelchair", "label": "需要轮椅", "type": "bool", "required": False}
ROOMS = {"key": "rooms", "label": "房间数", "type": "number", "required": False}

# (code, name, description, icon)
CATEGORIES = [
    ("meal", "助餐", "老年助餐点堂食、送餐上门", "meal"),
    ("bath", "助浴", "上门助浴、助浴点洗浴", "bath"),
    ("clean", "助洁", "居家保洁、整理与消杀", "clean"),
    ("medical", "助医", "陪同就医、代配药与健康管理", "medical"),
    ("safety", "助急/安全", "紧急呼叫响应、居家安全检查与适老化", "safety"),
    ("mobility", "助行", "出行陪同、辅具租借与爬楼协助", "mobility"),
    ("rehab", "康复护理", "上门护理、康复训练与照护指导", "rehab"),
    ("company", "精神慰藉", "探访、谈心与文娱陪伴", "company"),
    ("errand", "生活照料/代办", "代购代缴、维修与证照代办", "errand"),
]

# (category, code, name, description, min_age, price, subsidy, fields, accept_h, complete_h, allows_plan)
ITEMS = [
    ("meal", "meal-delivery", "送餐上门", "助餐点按时将热菜热饭送到家中，一荤两素一汤，可按医嘱选择低盐、低糖或流质。", 60,
     "每餐15元", "80岁以上每餐补贴5元，低保/特困老人免费", [DIET, MEAL_SLOT, PORTIONS], 2, 4, True),
    ("meal", "meal-dine-in", "堂食", "到社区长者食堂就餐，凭老年卡刷卡享受补贴价。", 60,
     "每餐12元", "60岁以上每餐补贴3元", [DIET, MEAL_SLOT], 2, 24, True),
    ("meal", "meal-special-diet", "特殊膳食定制", "根据医嘱定制糖尿病、肾病等特殊膳食，由营养师审核菜单。", 60,
     "每餐18元", "纳入长护险评估的老人补贴50%", [DIET, MEAL_SLOT, {"key": "medical_advice", "label": "医嘱说明", "type": "string", "required": True}], 4, 48, True),
    ("meal", "meal-pickup-help", "代取餐", "行动不便老人由志愿者到助餐点代为取餐送回家。", 70,
     "免费", "", [MEAL_SLOT], 2, 4, True),
    ("meal", "meal-holiday", "节日餐", "重阳、春节等节日为独居老人送上节日餐食。", 70,
     "免费", "街道慈善超市资助", [DIET], 24, 72, False),
    ("meal", "meal-assist-feeding", "助餐喂食", "为失能、半失能老人上门协助进餐。", 60,
     "每次20元", "长护险评估二级以上可报销", [DIET, MEAL_SLOT], 2, 4, True),
    ("bath", "bath-home", "上门助浴", "助浴员携带便携浴缸上门，协助洗澡、洗头，全程测量血压。", 70,
     "每次80元", "80岁以上独居老人每月补贴2次", [VISIT_DATE, VISIT_TIME, WHEELCHAIR], 4, 72, False),
    ("bath", "bath-center", "助浴点洗浴", "到社区助浴点洗浴，有防滑设施和专人看护。", 60,
     "每次30元", "60岁以上补贴10元", [VISIT_DATE, VISIT_TIME], 4, 72, False),
    ("bath", "bath-hair", "理发修面", "理发师上门理发、修面。", 60,
     "每次15元", "80岁以上免费", [VISIT_DATE], 8, 120, False),
    ("bath", "bath-nail", "修脚剪指甲", "专业修脚师上门修剪指甲、处理老茧。", 60,
     "每次25元", "", [VISIT_DATE], 8, 120, False),
    ("clean", "clean-home", "居家保洁", "2小时常规保洁：地面、厨房、卫生间清洁。", 60,
     "每小时40元", "低保老人每月补贴4小时", [VISIT_DATE, VISIT_TIME, ROOMS], 4, 72, False),
    ("clean", "clean-deep", "深度清洁", "换季深度清洁，含油烟机、窗户、空调滤网。", 60,
     "每次200元起", "", [VISIT_DATE, ROOMS], 8, 168, False),
    ("clean", "clean-laundry", "衣物被褥清洗", "上门收取衣物被褥，清洗晾晒后送回。", 70,
     "每次20元", "80岁以上独居老人免费", [VISIT_DATE], 8, 96, False),
    ("clean", "clean-disinfect", "消毒消杀", "居家环境消毒、灭蟑灭鼠。", 60,
     "每次50元", "", [VISIT_DATE], 8, 120, False),
    ("clean", "clean-declutter", "整理收纳", "协助清理堆物、整理房间，消除安全隐患。", 60,
     "每次60元", "独居老人免费一次", [VISIT_DATE], 24, 168, False),
    ("medical", "medical-escort", "陪同就医", "陪诊员全程陪同挂号、候诊、取药、缴费并送回家。", 60,
     "每半天80元", "80岁以上补贴40元", [HOSPITAL, DEPARTMENT, VISIT_DATE, VISIT_TIME, WHEELCHAIR], 4, 48, False),
    ("medical", "medical-prescription", "代配药", "凭医保卡到社区卫生服务中心代配慢病长处方药，送药上门。", 60,
     "免费", "", [HOSPITAL, {"key": "medicines", "label": "药品清单", "type": "string", "required": True}], 4, 48, False),
    ("medical", "medical-family-doctor", "家庭医生上门", "签约家庭医生上门问诊、开具处方。", 60,
     "按医保标准收费", "签约居民免挂号费", [VISIT_DATE], 24, 120, False),
    ("medical", "medical-checkup", "健康监测", "上门测量血压、血糖，记录健康档案。", 60,
     "免费", "", [VISIT_DATE, VISIT_TIME], 8, 72, False),
    ("medical", "medical-appointment", "预约挂号", "代为预约二三级医院专家号。", 60,
     "免费", "", [HOSPITAL, DEPARTMENT], 4, 48, False),
    ("medical", "medical-report", "代取报告", "代取检查报告并送回家中，协助解读预约复诊。", 60,
     "免费", "", [HOSPITAL], 8, 72, False),
    ("safety", "safety-emergency-call", "紧急呼叫", "通过一键呼叫终端或小程序求助，服务社15分钟内响应、30分钟内到场。", 0,
     "免费", "", [{"key": "situation", "label": "情况说明", "type": "string", "required": False}], 0.25, 2, False),
    ("safety", "safety-gas-electric", "燃气用电安全检查", "检查燃气灶具、软管、报警器和电线插座，排除隐患。", 60,
     "免费", "", [VISIT_DATE], 24, 120, False),
    ("safety", "safety-fall-assessment", "防跌倒评估", "评估居家跌倒风险，提出扶手、防滑垫等改造建议。", 65,
     "免费", "", [VISIT_DATE, {"key": "fell_recently", "label": "近半年有跌倒", "type": "bool", "required": False}], 24, 168, False),
    ("safety", "safety-smart-device", "智能设备安装", "安装烟感报警器、燃气报警器、一键呼叫器等智能安防设备。", 70,
     "设备免费", "独居、孤老优先", [VISIT_DATE], 24, 240, False),
    ("safety", "safety-home-adaptation", "适老化改造", "卫生间扶手、防滑地面、坐便器、夜灯等适老化改造。", 60,
     "按项目报价", "政府补贴最高3000元", [VISIT_DATE, {"key": "rooms_to_adapt", "label": "改造区域", "type": "choice", "required": True, "choices": ["卫生间", "厨房", "卧室", "全屋"]}], 48, 720, False),
    ("safety", "safety-daily-check", "独居老人每日探视", "志愿者每日电话或上门确认独居老人平安。", 70,
     "免费", "", [{"key": "preferred_time", "label": "联系时间", "type": "time", "required": False}], 8, 24, True),
    ("mobility", "mobility-escort", "陪同出行", "陪同外出办事、购物、散步。", 60,
     "每小时30元", "80岁以上补贴一半", [VISIT_DATE, VISIT_TIME, WHEELCHAIR], 4, 48, False),
    ("mobility", "mobility-aid-rental", "辅具租借", "轮椅、助行器、护理床等辅具租借。", 60,
     "押金200元", "长护险评估对象免租金", [{"key": "aid_type", "label": "辅具", "type": "choice", "required": True, "choices": ["轮椅", "助行器", "拐杖", "护理床"]}], 4, 48, False),
    ("mobility", "mobility-stairs", "爬楼协助", "爬楼机协助无电梯楼栋的老人上下楼。", 60,
     "每次20元", "", [VISIT_DATE, VISIT_TIME], 8, 48, False),
    ("mobility", "mobility-transport", "助老专车", "预约无障碍车辆接送就医、办事。", 70,
     "按里程收费", "80岁以上补贴50%", [VISIT_DATE, VISIT_TIME, {"key": "destination", "label": "目的地", "type": "string", "required": True}, WHEELCHAIR], 8, 72, False),
    ("rehab", "rehab-home-nursing", "上门护理", "护士上门换药、导尿、压疮护理。", 60,
     "按项目收费", "长护险评估二级以上可报销90%", [VISIT_DATE, {"key": "nursing_item", "label": "护理项目", "type": "string", "required": True}], 8, 72, False),
    ("rehab", "rehab-training", "康复训练", "康复师上门进行肢体功能训练。", 60,
     "每次60元", "长护险评估对象报销", [VISIT_DATE, VISIT_TIME], 24, 168, False),
    ("rehab", "rehab-care-assessment", "长护险评估申请", "协助申请长期护理保险需求评估。", 60,
     "免费", "", [], 24, 240, False),
    ("rehab", "rehab-caregiver-training", "家庭照护培训", "为家属提供翻身、喂食、移位等照护技能培训。", 0,
     "免费", "", [VISIT_DATE], 48, 336, False),
    ("rehab", "rehab-massage", "中医推拿理疗", "社区卫生服务中心医师上门推拿、艾灸。", 60,
     "每次50元", "", [VISIT_DATE], 24, 168, False),
    ("rehab", "rehab-respite", "喘息服务", "为长期照护失能老人的家属提供临时替代照护。", 60,
     "每天150元", "每年补贴7天", [VISIT_DATE, {"key": "days", "label": "天数", "type": "number", "required": True}], 48, 336, False),
    ("company", "company-visit", "上门探访", "志愿者定期上门探访，陪伴聊天、了解需求。", 70,
     "免费", "", [VISIT_DATE], 24, 168, True),
    ("company", "company-talk", "谈心陪伴", "心理咨询师或志愿者电话、上门谈心疏导。", 60,
     "免费", "", [{"key": "by_phone", "label": "电话谈心", "type": "bool", "required": False}], 24, 120, False),
    ("company", "company-activities", "文娱活动报名", "报名参加社区合唱、书法、手工等文娱活动。", 60,
     "免费", "", [{"key": "activity", "label": "活动", "type": "string", "required": True}], 24, 120, False),
    ("company", "company-birthday", "生日关怀", "为高龄老人上门过生日、送蛋糕。", 80,
     "免费", "街道关爱基金资助", [VISIT_DATE], 48, 240, False),
    ("company", "company-smartphone", "智能手机教学", "一对一教老人使用手机挂号、视频通话、防诈骗。", 60,
     "免费", "", [VISIT_DATE], 24, 168, False),
    ("errand", "errand-shopping", "代购代买", "代购米面油、日用品并送货上门。", 60,
     "免跑腿费", "", [{"key": "shopping_list", "label": "购物清单", "type": "string", "required": True}], 4, 24, False),
    ("errand", "errand-bills", "代缴费用", "代缴水电燃气、电话费和物业费。", 60,
     "免费", "", [{"key": "bill_type", "label": "费用类型", "type": "choice", "required": True, "choices": ["水费", "电费", "燃气费", "电话费", "物业费"]}], 8, 72, False),
    ("errand", "errand-repair", "小修小补", "更换灯泡、水龙头、门锁等家庭小维修。", 60,
     "材料费自理", "80岁以上免人工费", [VISIT_DATE, {"key": "repair_item", "label": "维修内容", "type": "string", "required": True}], 8, 72, False),
    ("errand", "errand-documents", "证照代办", "代办老年卡、医保卡、敬老卡等证照。", 60,
     "免费", "", [{"key": "document", "label": "证照", "type": "choice", "required": True, "choices": ["老年综合津贴", "医保卡", "敬老卡", "残疾证", "其他"]}], 24, 240, False),
    ("errand", "errand-pension", "养老金资格认证", "协助完成养老金领取资格认证。", 60,
     "免费", "", [], 24, 168, False),
    ("errand", "errand-delivery", "代收快递", "代收快递包裹并送到家中。", 70,
     "免费", "", [], 8, 48, False),
]

AGE_TEXT = {0: "不限年龄", 60: "本区60周岁以上老人", 65: "本区65周岁以上老人", 70: "本区70周岁以上老人", 80: "本区80周岁以上高龄老人"}


def seed(apps, schema_editor):
    ServiceCategory = apps.get_model("services", "ServiceCategory")
    ServiceItem = apps.get_model("services", "ServiceItem")
    categories = {}
    for order, (code, name, description, icon) in enumerate(CATEGORIES, start=1):
        categories[code], _ = ServiceCategory.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "icon": icon, "sort_order": order}
        )
    for order, (cat, code, name, description, min_age, price, subsidy, fields, accept_h, complete_h, allows_plan) in enumerate(ITEMS, start=1):
        ServiceItem.objects.update_or_create(
            code=code,
            defaults={
                "category": categories[cat],
                "name": name,
                "description": description,
                "min_age": min_age,
                "eligibility_text": AGE_TEXT[min_age] + "，本人或登记家属均可申请",
                "price_text": price,
                "subsidy_text": subsidy,
                "fields": fields,
                "accept_within": timedelta(seconds=int(accept_h * H)),
                "complete_within": timedelta(seconds=int(complete_h * H)),
                "allows_plan": allows_plan,
                "sort_order": order,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("services", "ServiceItem").objects.filter(code__in=[i[1] for i in ITEMS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("services", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
