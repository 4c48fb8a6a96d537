"""Place names: Chinese forms with their English spellings.

Used to carry a place over in follow-ups (「那杭州呢？」) and to check that an answer
about a place comes from a passage about that place.
"""

from __future__ import annotations

import re

# Chinese name → English spellings (lower case). Cities and districts the corpus names,
# the provinces around them and the largest cities users ask about.
PLACES: dict[str, tuple[str, ...]] = {
    "北京": ("beijing",), "上海": ("shanghai",), "天津": ("tianjin",), "重庆": ("chongqing",),
    "深圳": ("shenzhen",), "广州": ("guangzhou", "canton"), "杭州": ("hangzhou",), "南京": ("nanjing",),
    "武汉": ("wuhan",), "成都": ("chengdu",), "西安": ("xi'an", "xian"), "苏州": ("suzhou",),
    "常德": ("changde",), "株洲": ("zhuzhou",), "常州": ("changzhou",), "邯郸": ("handan",),
    "徐汇": ("xuhui",), "杨浦": ("yangpu",), "朝阳": ("chaoyang",),
    "湖南": ("hunan",), "江苏": ("jiangsu",), "河北": ("hebei",), "浙江": ("zhejiang",), "广东": ("guangdong",),
    # The other provinces and regions, and the larger cities people ask about: a place the
    # corpus does not cover must still be recognised as a place to be refused as one.
    "山东": ("shandong",), "河南": ("henan",), "湖北": ("hubei",), "四川": ("sichuan",), "福建": ("fujian",),
    "安徽": ("anhui",), "江西": ("jiangxi",), "辽宁": ("liaoning",), "吉林": ("jilin",), "黑龙江": ("heilongjiang",),
    "山西": ("shanxi",), "陕西": ("shaanxi",), "甘肃": ("gansu",), "青海": ("qinghai",), "云南": ("yunnan",),
    "贵州": ("guizhou",), "海南": ("hainan",), "台湾": ("taiwan",), "内蒙古": ("inner mongolia",),
    "广西": ("guangxi",), "西藏": ("tibet",), "宁夏": ("ningxia",), "新疆": ("xinjiang",), "香港": ("hong kong",),
    "澳门": ("macau", "macao"),
    "无锡": ("wuxi",), "宁波": ("ningbo",), "温州": ("wenzhou",), "绍兴": ("shaoxing",), "嘉兴": ("jiaxing",),
    "湖州": ("huzhou",), "金华": ("jinhua",), "台州": ("taizhou",), "东莞": ("dongguan",), "佛山": ("foshan",),
    "珠海": ("zhuhai",), "厦门": ("xiamen",), "福州": ("fuzhou",), "青岛": ("qingdao",), "济南": ("jinan",),
    "郑州": ("zhengzhou",), "长沙": ("changsha",), "岳阳": ("yueyang",), "湘潭": ("xiangtan",), "衡阳": ("hengyang",),
    "合肥": ("hefei",), "南昌": ("nanchang",), "沈阳": ("shenyang",), "大连": ("dalian",), "长春": ("changchun",),
    "哈尔滨": ("harbin",), "太原": ("taiyuan",), "石家庄": ("shijiazhuang",), "保定": ("baoding",), "唐山": ("tangshan",),
    "昆明": ("kunming",), "贵阳": ("guiyang",), "南宁": ("nanning",), "海口": ("haikou",), "兰州": ("lanzhou",),
    "西宁": ("xining",), "银川": ("yinchuan",), "乌鲁木齐": ("urumqi",), "拉萨": ("lhasa",), "呼和浩特": ("hohhot",),
    "扬州": ("yangzhou",), "南通": ("nantong",), "徐州": ("xuzhou",), "泉州": ("quanzhou",), "惠州": ("huizhou",),
    "烟台": ("yantai",), "潍坊": ("weifang",), "洛阳": ("luoyang",), "宜昌": ("yichang",),
    "襄阳": ("xiangyang",), "绵阳": ("mianyang",), "遵义": ("zunyi",), "柳州": ("liuzhou",), "桂林": ("guilin",),
    "浦东": ("pudong",), "闵行": ("minhang",), "海淀": ("haidian",),
}
_PROVINCES = frozenset(
    "湖南 江苏 河北 浙江 广东 山东 河南 湖北 四川 福建 安徽 江西 辽宁 吉林 黑龙江 山西 陕西 甘肃 青海 云南 贵州 海南 台湾 "
    "内蒙古 广西 西藏 宁夏 新疆 香港 澳门".split()
)
_DISTRICTS = frozenset("徐汇 杨浦 朝阳 浦东 闵行 海淀".split())


def place_level(name: str) -> str:
    """province, city or county (a county, district or town): siblings share a level
    (泸溪县 is a sibling of 沅陵县, 邯郸 of 株洲; 杨浦区 is no sibling of 上海)."""
    core = name.removesuffix("市")
    if name.endswith(("省", "自治区")) or core in _PROVINCES:
        return "province"
    if name.endswith(("县", "区", "新区", "镇", "乡", "旗")) or core in _DISTRICTS:
        return "county"
    return "city"


_EN = {en: zh for zh, names in PLACES.items() for en in names}
_EN_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_EN, key=len, reverse=True)) + r")\b")


def places_in(text: str) -> list[str]:
    """Places named in ``text`` (Simplified or English), as Chinese names, in order of appearance."""
    found: list[tuple[int, str]] = [(text.find(zh), zh) for zh in PLACES if zh in text]
    found += [(m.start(), _EN[m.group(1)]) for m in _EN_RE.finditer(text.lower())]
    out: list[str] = []
    for _, zh in sorted(found):
        if zh not in out:
            out.append(zh)
    return out
