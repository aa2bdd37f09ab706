#!/usr/bin/env python3
"""Generate (or verify) tests/data/pii/corpus.jsonl, the labeled PII corpus of issue 6.

    make-corpus.py            write corpus.jsonl next to this script
    make-corpus.py --check    regenerate in memory, require corpus.jsonl to be byte-identical,
                              re-validate every line read back from the file
    make-corpus.py --stats    print per-detector / per-negative-kind counts of corpus.jsonl

Everything is synthetic and comes from one fixed seed (SEED).  See README.md for the format
and the labeling rules.  No detector lives here: the validators below only implement the
checksums (GB 11643, Luhn, ISO 7064 mod 97-10, ...) so that every positive is asserted
valid, every "wrong checksum" negative asserted invalid, and no line carries an unlabeled
value that a checksum would accept.
"""
import argparse
import base64
import collections
import json
import pathlib
import random
import re
import sys
import unicodedata

SEED = 20240611
HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus.jsonl"
MIN_LINES = 1200

DETECTORS = ("cn_resident_id", "cn_mobile", "bank_card", "email", "iban", "us_ssn",
             "pem_private_key", "cloud_access_key", "jwt", "password_assignment")
# Single-entity positive lines per detector and how many of them are obfuscated.
POS_PER_DETECTOR = 80
OBF_PER_DETECTOR = 44
MIXED_LINES = 60

# Invisible characters the normaliser must drop (README: "Obfuscations").
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
DIGIT_SEPARATORS = " -."

# ---------------------------------------------------------------- checksums

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(body17):
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS)) % 11]


def id_valid(s):
    """GB 11643-1999: 17 digits + check character (0-9 or X, case-insensitive)."""
    s = s.upper()
    return re.fullmatch(r"[0-9]{17}[0-9X]", s) is not None and id_check_char(s[:17]) == s[17]


def luhn_digit(payload):
    """Check digit that makes payload + digit Luhn-valid."""
    total = 0
    for i, c in enumerate(reversed(payload)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(s):
    return re.fullmatch(r"[0-9]{13,19}", s) is not None and luhn_digit(s[:-1]) == s[-1]


def card_length_ok(s):
    """The lengths each issuer prefix is issued in (README: bank_card)."""
    n, p2, p3, p4 = len(s), int(s[:2]), int(s[:3]), int(s[:4])
    if s[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if 2200 <= p4 <= 2204:
        return 16 <= n <= 19
    if p2 in (34, 37):
        return n == 15
    if 3528 <= p4 <= 3589 or p2 in (62, 65) or p4 == 6011 or 644 <= p3 <= 649:
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19
    return False


def card_valid(s):
    return luhn_valid(s) and card_length_ok(s)


# ISO 13616 BBAN layouts (n digits, a upper-case letters, c alphanumerics); synthetic banks.
IBAN_BBAN = {
    "DE": "8n10n", "GB": "4a14n", "FR": "5n5n11c2n", "NL": "4a10n", "ES": "20n",
    "IT": "1a10n12c", "CH": "5n12c", "BE": "12n", "AT": "16n", "PL": "24n",
}


def iban_length(cc):
    return 4 + sum(int(n) for n in re.findall(r"([0-9]+)[nac]", IBAN_BBAN[cc]))


def iban_mod97(s):
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97


def iban_valid(s):
    s = re.sub(r"[ -]", "", s)
    return (re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", s) is not None and s[:2] in IBAN_BBAN
        and len(s) == iban_length(s[:2]) and iban_mod97(s) == 1)


def ssn_valid(s):
    m = re.fullmatch(r"([0-9]{3})[- .]?([0-9]{2})[- .]?([0-9]{4})", s)
    if not m:
        return False
    area, group, serial = m.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


MOBILE_RE = r"1(?:3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])[0-9]{8}"


def mobile_valid(s):
    s = re.sub(r"[ .\-()]", "", s)
    return re.fullmatch(r"(?:\+?86|0086)?" + MOBILE_RE, s) is not None


# GB 32100 unified social credit code (hard negative: 18 characters, not an ID).
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc(rng):
    org = rstr(rng, USCC_CHARS, 8)
    c9 = 11 - sum(int(c, 36) * w for c, w in zip(org, ORG_WEIGHTS)) % 11
    org += {10: "X", 11: "0"}.get(c9, str(c9))
    body = rng.choice("159") + rng.choice("123") + rng.choice(AREAS) + org
    c = (31 - sum(USCC_CHARS.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS)) % 31) % 31
    return body + USCC_CHARS[c]


def isbn13(rng):
    body = "978" + rng.choice("7") + "".join(rng.choice("0123456789") for _ in range(8))
    c = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(c)


# ---------------------------------------------------------------- small helpers

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B64STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"


def rstr(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(rng, n, first="0123456789"):
    return rng.choice(first) + rstr(rng, "0123456789", n - 1)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def rbytes(rng, n):
    return bytes(rng.randrange(256) for _ in range(n))


def fullwidth(s, rng=None, frac=1.0):
    """ASCII printable -> full-width forms (U+FF01..U+FF5E); space -> U+3000."""
    out = []
    for ch in s:
        if rng is not None and rng.random() >= frac:
            out.append(ch)
        elif "!" <= ch <= "~":
            out.append(chr(ord(ch) + 0xFEE0))
        elif ch == " ":
            out.append("\u3000")
        else:
            out.append(ch)
    return "".join(out)


def zero_width(s, rng, count=None):
    """Insert 1..3 invisible characters strictly inside s (never at either end)."""
    count = count or rng.randrange(1, 4)
    chars = list(s)
    for _ in range(count):
        pos = rng.randrange(1, len(chars))
        chars.insert(pos, rng.choice(INVISIBLE))
    return "".join(chars)


def group(s, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


def split_tpl(tpl):
    before, after = tpl.split("{}")
    return before, after


# ---------------------------------------------------------------- reference normalisation

def normalise_no_collapse(text):
    """NFKC per character with invisible characters dropped and "%40" decoded to "@";
    (string, source index per char)."""
    chars, src = [], []
    skip = 0
    for i, ch in enumerate(text):
        if skip:
            skip -= 1
            continue
        if text.startswith("%40", i):
            chars.append("@")
            src.append(i)
            skip = 2
            continue
        if ch in INVISIBLE:
            continue
        for c in unicodedata.normalize("NFKC", ch):
            chars.append(c)
            src.append(i)
    return "".join(chars), src


def normalise(text):
    """Return (normalised string, index of the source character of every output char).

    NFKC per character (full-width -> ASCII), invisible characters dropped, "%40" -> "@", then a
    separator (space, '-', '.') whose neighbours are both digits is dropped.  This is the
    normalisation the corpus assumes (README); it is used here only for self-checks."""
    chars, src = normalise_no_collapse(text)
    out, osrc = [], []
    for k, c in enumerate(chars):
        if (c in DIGIT_SEPARATORS and 0 < k < len(chars) - 1 and chars[k - 1].isascii()
                and chars[k - 1].isdigit() and chars[k + 1].isascii() and chars[k + 1].isdigit()):
            continue
        out.append(c)
        osrc.append(src[k])
    return "".join(out), osrc


def strip_invisible_nfkc(s):
    return unicodedata.normalize("NFKC", "".join(c for c in s if c not in INVISIBLE)).replace("%40", "@")


# ---------------------------------------------------------------- positives

AREAS = ("110101", "110105", "110108", "120101", "130102", "210102", "230103", "310104",
         "310115", "320102", "320505", "330106", "340104", "350203", "370202", "410105",
         "420106", "430104", "440106", "440305", "450103", "500103", "510104", "530102",
         "610113", "620102")


def id_number(rng, want_x=False):
    while True:
        y = rng.randrange(1950, 2009)
        m = rng.randrange(1, 13)
        d = rng.randrange(1, 29)
        body = "%s%04d%02d%02d%03d" % (rng.choice(AREAS), y, m, d, rng.randrange(1, 1000))
        c = id_check_char(body)
        if want_x == (c == "X"):
            return body + c


def card_number(rng):
    kind = rng.choice(("unionpay16", "unionpay16", "unionpay19", "unionpay17", "unionpay18",
                           "visa16", "visa13", "mc16", "amex15", "jcb16", "mc2_16", "discover16", "diners14"))
    prefix, length = {
        "unionpay16": ("62" + digits(rng, 4), 16), "unionpay19": ("62" + digits(rng, 4), 19),
        "unionpay17": ("62" + digits(rng, 4), 17), "unionpay18": ("62" + digits(rng, 4), 18),
        "visa16": ("4" + digits(rng, 5), 16), "visa13": ("4" + digits(rng, 5), 13),
        "mc16": ("5" + rng.choice("12345") + digits(rng, 4), 16),
        "amex15": ("3" + rng.choice("47") + digits(rng, 4), 15),
        "jcb16": ("35" + str(rng.randrange(28, 90)) + digits(rng, 2), 16),
        "mc2_16": (str(rng.randrange(2221, 2721)) + digits(rng, 2), 16),
        "discover16": (rng.choice(("6011", "65" + digits(rng, 2))) + digits(rng, 2), 16),
        "diners14": (rng.choice(("36", "38", "30" + rng.choice("012345"))) + digits(rng, 2), 14),
    }[kind]
    payload = prefix + digits(rng, length - 1 - len(prefix))
    return payload + luhn_digit(payload), kind


def card_groups(n):
    return {13: (4, 4, 5), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 17: (4, 4, 4, 5),
        18: (6, 12), 19: (4, 4, 4, 4, 3)}[len(n)]


def mobile_number(rng):
    while True:
        n = "1" + rng.choice(("3", "5", "8", "7", "9", "4", "6")) + digits(rng, 9)
        if re.fullmatch(MOBILE_RE, n):
            return n


def iban_number(rng, cc=None):
    cc = cc or rng.choice(list(IBAN_BBAN))
    bban = ""
    for n, kind in re.findall(r"([0-9]+)([nac])", IBAN_BBAN[cc]):
        alphabet = {"n": "0123456789", "a": UPPER, "c": UPPER + "0123456789"}[kind]
        bban += rstr(rng, alphabet, int(n))
    check = 98 - iban_mod97(cc + "00" + bban)
    return "%s%02d%s" % (cc, check, bban)


def ssn_number(rng):
    while True:
        area = rng.randrange(1, 900)
        if area == 666:
            continue
        s = "%03d-%02d-%04d" % (area, rng.randrange(1, 100), rng.randrange(1, 10000))
        if s not in ("078-05-1120", "219-09-9999"):  # famous published numbers
            return s


PEM_LABELS = ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
              "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY")


def pem_block(rng, label=None):
    label = label or rng.choice(PEM_LABELS)
    lead = {"OPENSSH PRIVATE KEY": b"openssh-key-v1\0", "EC PRIVATE KEY": b"\x30\x77\x02\x01\x01\x04\x20"}
    body = lead.get(label, b"\x30\x82\x04\xa4\x02\x01\x00") + rbytes(rng, rng.randrange(120, 300))
    b64 = base64.b64encode(body).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ["-----BEGIN %s-----" % label] + lines + ["-----END %s-----" % label]


def cloud_key(rng):
    kind = rng.choice(("aws", "aws", "aws_sts", "aliyun", "aliyun", "tencent"))
    if kind == "aws":
        return "AKIA" + rstr(rng, UPPER + "234567", 16), kind
    if kind == "aws_sts":
        return "ASIA" + rstr(rng, UPPER + "234567", 16), kind
    if kind == "aliyun":
        return "LTAI" + rstr(rng, ALNUM, rng.choice((12, 16, 20))), kind
    return "AKID" + rstr(rng, ALNUM, 32), kind


def jwt_token(rng):
    header = rng.choice(({"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "typ": "JWT", "kid": "k%d" % rng.randrange(9)},
                             {"typ": "JWT", "alg": "ES256"}, {"alg": "HS512"}))
    iat = rng.randrange(1600000000, 1800000000)
    payload = {"sub": "user-%d" % rng.randrange(100000), "iat": iat, "exp": iat + 3600,
                   "role": rng.choice(("admin", "reader", "ops")), "name": rng.choice(("测试用户", "synthetic", "demo"))}
    sig = rbytes(rng, {"HS256": 32, "HS512": 64, "RS256": 256, "ES256": 64}[header["alg"]])
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode())
    return "%s.%s.%s" % (enc(header), enc(payload), b64url(sig))


PW_KEYS_EN = ("password", "passwd", "pwd", "PASSWORD", "DB_PASSWORD", "db_password", "admin_password",
              "MYSQL_ROOT_PASSWORD", "smtp_password", "Password")
PW_KEYS_ZH = ("密码", "口令", "登录密码", "数据库密码", "管理员密码", "支付密码")
PW_CHARS = ALNUM + "!#$%^&*_+"


def password_value(rng, key):
    if key == "支付密码":
        return digits(rng, 6)
    while True:
        v = rstr(rng, PW_CHARS, rng.randrange(8, 17))
        # not "$X..." / "%s...": README calls those placeholders (shell/format variables)
        if re.search(r"[0-9]", v) and re.search(r"[A-Za-z]", v) and v[0] not in "$%":
            return v


# Context templates: "{}" is where the entity goes.
CTX = {
    "cn_resident_id": {
        "zh": ("我的身份证号是{}，请帮我查一下社保缴纳记录。", "请核对：身份证号码 {} 是否与户籍一致。",
                       "患者张某，身份证{}，主诉头痛三天。", "把这段数据脱敏：{}", "员工入职登记 身份证：{} 已确认",
                       "帮我写一封邮件，附上我的身份证号{}给人事部门。", "公民身份号码{}，签发机关某市公安局"),
        "en": ("My Chinese ID number is {}, can you check the format?", "Customer record: resident ID {} (verified at front desk).",
                       "Please redact {} from the following report.", "The applicant's ID card reads {} according to the scan.",
                       "Translate to Chinese: my identity card number is {}.", "id_card_no: {}"),
    },
    "cn_mobile": {
        "zh": ("我的手机号是{}，有事随时打给我。", "联系人：王先生，电话{}", "请回拨{}，谢谢。",
                       "收货人手机 {} 地址：上海市浦东新区某路", "客服说让我把手机号{}发给你。", "帮我生成一条短信模板，发送到{}"),
        "en": ("Call me at {} after six pm.", "Contact number: {}", "The courier's mobile is {}, please confirm.",
                       "Send the verification code to {}.", "WeChat is linked to {}, can you help me unbind it?"),
    },
    "bank_card": {
        "zh": ("我的银行卡号{}，为什么转账失败？", "请把工资打到这张卡：{}", "信用卡{}本月账单多少？",
                       "卡号：{} 持卡人：李某", "帮我判断{}是哪家银行的卡"),
        "en": ("Charge my card {} for the renewal.", "Card number: {} (expiry on file)", "Refund went to {} but I never got it.",
                       "Is {} a valid UnionPay number?", "payment_card = {}"),
    },
    "email": {
        "zh": ("我的邮箱是{}，请把报告发过来。", "联系邮箱：{}", "请回复到{}谢谢", "抄送{}和财务部", "把账号{}加入邮件组"),
        "en": ("Email me at {} with the results.", "Reply-To: {}", "Please forward the invoice to {}.",
                       "user {} reported the bug", "mailto:{}", "Contact: Jane Doe <{}>"),
    },
    "iban": {
        "zh": ("请汇款到IBAN：{}", "欧洲账户 {} 收款人：某某有限公司", "国际汇款账号{}，请核对。"),
        "en": ("Please wire the deposit to IBAN {}.", "Beneficiary account: {} (SEPA)", "Our new bank details: {}",
                       "Can you validate this IBAN: {}?"),
    },
    "us_ssn": {
        "zh": ("美国社会安全号码：{}", "他的SSN是{}，请填入表格。", "报税表上的社保号{}对吗？"),
        "en": ("My SSN is {}.", "Social Security Number: {}", "SSN {} appears on the tax form",
                       "Employee SSN: {}, hired last March."),
    },
    "pem_private_key": {
        "zh": ("这是服务器的私钥，帮我看看格式对不对：\n{}", "把下面的密钥转换成PKCS8格式：\n{}\n谢谢"),
        "en": ("Here is my deploy key, why does ssh reject it?\n{}", "Fix this config:\ntls:\n  key: |\n{}",
                       "Please check the format of this key: {}"),
    },
    "cloud_access_key": {
        "zh": ("阿里云AccessKey ID：{}", "帮我检查一下这个密钥{}有没有泄露", "腾讯云SecretId {} 需要轮换",
                       "配置文件里写的是 {} ，是不是过期了"),
        "en": ("aws_access_key_id = {}", "export AWS_ACCESS_KEY_ID={}", "Our access key id is {}, is it still active?",
                       "Rotate the key {} before Friday.", "SecretId: {}"),
    },
    "jwt": {
        "zh": ("这个JWT过期了吗：{}", "请求头里带的是 Bearer {}", "帮我解码{}"),
        "en": ("Authorization: Bearer {}", "Why does this token fail to verify? {}",
                       "curl -H 'Authorization: Bearer {}' https://api.example.com/v1/me", "session token: {}"),
    },
}
# Password lines: {a} is the whole assignment (key, separator, value).
PW_CTX = {
    "zh": ("我的{a}，帮我登录一下邮箱。", "服务器信息 用户名：root，{a}", "WiFi名称：Office，{a}", "请记住{a}，别告诉别人",
               "部署文档：\n主机：db.example.com\n{a}"),
    "en": ("Connect using {a} and tell me why it fails.", "config:\n  user: app\n  {a}", "Here is the .env file:\nDB_HOST=localhost\n{a}",
               "Login failed with {a}, is the account locked?", "{a}"),
}
PW_FORMS_EN = ("{k}={v}", "{k}: {v}", "\"{k}\": \"{v}\"", "{k} = '{v}'", "--{k}={v}", "{k}=\"{v}\"")
PW_FORMS_ZH = ("{k}：{v}", "{k}:{v}", "{k}是：{v}", "{k}={v}")
# Forms without a password keyword before the value (README: span rules). {u} user, {h} host,
# {ip} address, {db} database; prose forms only in English lines.
PW_FORMS_CONTEXT = (
    "postgres://{u}:{v}@{h}:5432/{db}", "postgresql://{u}:{v}@{ip}/{db}", "mysql://{u}:{v}@{h}:3306/{db}",
    "mysql+pymysql://{u}:{v}@{ip}/{db}?charset=utf8mb4", "redis://:{v}@{h}:6379/0", "rediss://{u}:{v}@{h}:6380",
    "amqp://{u}:{v}@{h}:5672/{db}", "mongodb://{u}:{v}@{h}:27017/{db}?authSource=admin",
    "mongodb+srv://{u}:{v}@{h}/{db}", "ftp://{u}:{v}@{h}/pub/", "https://{u}:{v}@{h}/repo.git",
    "curl -u {u}:{v} https://{h}/api/v1/status", "curl -sS --user '{u}:{v}' -X POST https://{h}/hook",
    "mysql -h {ip} -u {u} -p{v} {db}", "mysqldump -u{u} -p'{v}' {db} > dump.sql",
    "mysqladmin -u {u} -p{v} status", "sshpass -p '{v}' ssh {u}@{ip}", "sshpass -p {v} scp app.tar {u}@{ip}:/tmp",
    "wget --user {u} --password {v} https://{h}/backup.tar", "CREATE USER '{u}'@'%' IDENTIFIED BY '{v}';",
    "ALTER USER '{u}'@'localhost' IDENTIFIED WITH mysql_native_password BY '{v}';",
    "CREATE ROLE {u} LOGIN PASSWORD '{v}';", "<password>{v}</password>", "<Password>{v}</Password>",
    "<pwd>{v}</pwd>", "<passwd>{v}</passwd>", "requirepass {v}", "CONFIG SET requirepass \"{v}\"",
)
PW_FORMS_PROSE = ("my password is {v}", "the password is {v}", "The admin password was {v}",
                  "his old password was {v}")
PW_USERS = ("app", "root", "admin", "deploy", "etl_user", "svc-report", "ops", "backup")
PW_HOSTS = ("db.example.com", "cache.example.net", "mq.internal.example.org", "mongo0.example.com",
            "files.example.com", "git.example.org", "ci.example.net")
PW_DBS = ("orders", "crm", "app", "analytics", "vhost1")

EMAIL_LOCALS = ("zhang.wei", "li_na", "wangfang", "chen.jie", "liu.yang", "john.smith", "alice+billing", "ops-team",
        "j.doe", "m.garcia", "hr", "finance.cn", "zhao_lei", "sun.li", "kim.lee")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "hr.example.org",
                 "corp.example.net", "cn.example.com")


def email_addr(rng):
    local = rng.choice(EMAIL_LOCALS)
    if rng.random() < 0.5:
        local += str(rng.randrange(1, 100))
    return local + "@" + rng.choice(EMAIL_DOMAINS)


# Each renderer: (rng, obfuscation list) -> (raw entity text, tags).  Tags are the obfuscations
# actually applied; "plain" when none.

def r_id(rng, obf):
    n = id_number(rng, want_x="lower_x" in obf or rng.random() < 0.2)
    tags = []
    if "lower_x" in obf and n.endswith("X"):
        n = n[:-1] + "x"
        tags.append("lower_x")
    if "sep" in obf:
        sep = rng.choice((" ", "-", ".", " "))
        n = group(n, rng.choice(((6, 8, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4))), sep)
        tags.append("sep")
    return n, tags


def r_mobile(rng, obf):
    n = mobile_number(rng)
    tags = []
    if "sep" in obf:
        n = group(n, (3, 4, 4), rng.choice((" ", "-", ".", " ")))
        tags.append("sep")
    if "prefix" in obf:
        n = rng.choice(("+86 ", "+86-", "+86", "0086 ", "0086-", "+86 ")) + n
        tags.append("prefix")
    return n, tags


def r_card(rng, obf):
    n, _ = card_number(rng)
    tags = []
    if "sep" in obf:
        n = group(n, card_groups(n), rng.choice((" ", "-", " ", ".")))
        tags.append("sep")
    return n, tags


def r_email(rng, obf):
    if "percent" in obf:
        return email_addr(rng).replace("@", "%40"), ["percent"]
    return email_addr(rng), []


def r_iban(rng, obf):
    n = iban_number(rng)
    tags = []
    if "sep" in obf:
        n = group(n, (4,) * 8, rng.choice(("-", " ")))
        tags.append("sep")
    elif rng.random() < 0.6:
        n = group(n, (4,) * 8, " ")  # the standard printed form is not an obfuscation
    return n, tags


def r_ssn(rng, obf):
    n = ssn_number(rng)
    tags = []
    if "sep" in obf:
        n = n.replace("-", rng.choice((" ", ".")))
        tags.append("sep")
    return n, tags


def r_cloud(rng, obf):
    return cloud_key(rng)[0], []


def r_jwt(rng, obf):
    return jwt_token(rng), []


RENDER = {"cn_resident_id": r_id, "cn_mobile": r_mobile, "bank_card": r_card, "email": r_email, "iban": r_iban,
          "us_ssn": r_ssn, "cloud_access_key": r_cloud, "jwt": r_jwt}

# Obfuscation menus per detector (each entry is one obfuscated variant).
OBF_MENU = {
    "cn_resident_id": (("sep",), ("fullwidth",), ("zw",), ("sep", "zw"), ("fullwidth", "zw"), ("sep", "fullwidth"),
                           ("fullwidth_partial",), ("lower_x",)),
    "cn_mobile": (("sep",), ("prefix",), ("prefix", "sep"), ("fullwidth",), ("zw",), ("prefix", "zw"),
                      ("sep", "fullwidth"), ("fullwidth_partial",)),
    "bank_card": (("sep",), ("fullwidth",), ("zw",), ("sep", "zw"), ("sep", "fullwidth"), ("fullwidth_partial",)),
    "email": (("fullwidth",), ("zw",), ("fullwidth_partial",), ("zh_adjacent",), ("fullwidth", "zw"), ("percent",)),
    "iban": (("sep",), ("fullwidth",), ("zw",), ("sep", "zw"), ("fullwidth_partial",)),
    "us_ssn": (("sep",), ("fullwidth",), ("zw",), ("sep", "zw"), ("fullwidth_partial",)),
    "cloud_access_key": (("zw",), ("fullwidth",), ("fullwidth_partial",), ("fullwidth", "zw")),
    "jwt": (("zw",), ("fullwidth",), ("fullwidth_partial",)),
    "pem_private_key": (("escaped_newlines",), ("flattened",), ("zw",), ("fullwidth_header",), ("indented",)),
    "password_assignment": (("fullwidth",), ("zw",), ("fullwidth_partial",), ("fullwidth", "zw")),
}


def apply_width_zw(rng, s, obf, tags):
    if "fullwidth" in obf:
        s = fullwidth(s)
        tags.append("fullwidth")
    elif "fullwidth_partial" in obf:
        s2 = s
        while s2 == s:
            s2 = fullwidth(s, rng, 0.5)
        s = s2
        tags.append("fullwidth_partial")
    if "zw" in obf:
        s = zero_width(s, rng)
        tags.append("zw")
    return s


class Line:
    def __init__(self):
        self.parts = []  # (text, type or None)

    def add(self, s, typ=None):
        self.parts.append((s, typ))
        return self

    def build(self, note):
        text, ents, b = "", [], 0
        for s, typ in self.parts:
            n = len(s.encode("utf-8"))
            if typ:
                ents.append({"type": typ, "start": b, "end": b + n})
            text += s
            b += n
        return {"text": text, "entities": ents, "note": note}


def tagstr(tags):
    return "+".join(tags) if tags else "plain"


def pos_simple(rng, det, obf, lang):
    tags = []
    raw, tags = RENDER[det](rng, obf)
    raw = apply_width_zw(rng, raw, obf, tags)
    tpl = rng.choice(CTX[det][lang])
    before, after = split_tpl(tpl)
    if "zh_adjacent" in obf:
        before, after = "请联系", "获取资料"
        tags.append("zh_adjacent")
    if "percent" in obf:
        before = rng.choice(("Decode this link: https://t.example.com/open.gif?uid=%d&email=",
                             "退订链接 https://mail.example.net/unsub?id=%d&to=")) % rng.randrange(1, 99999)
        after = rng.choice(("&c=spring", "", "&lang=zh 是什么意思？"))
    line = Line().add(before).add(raw, det).add(after)
    return line.build("pos %s %s=%s" % (lang, det, tagstr(tags)))


def pos_pem(rng, obf, lang):
    lines = pem_block(rng)
    tags = []
    tpl = rng.choice(CTX["pem_private_key"][lang])
    before, after = split_tpl(tpl)
    if "escaped_newlines" in obf:
        raw = "\\n".join(lines)
        before, after = "{\"tls_key\": \"", "\"} 这个JSON解析报错" if lang == "zh" else "\"} fails to parse, why?"
        tags.append("escaped_newlines")
    elif "flattened" in obf:
        raw = " ".join(lines)
        tags.append("flattened")
    elif "indented" in obf:
        raw = "\n    ".join(lines)
        before, after = ("tls:\n  key: |\n    ", "\n  cert: cert.pem") if lang == "en" else ("密钥配置：\n    ", "\n（以上）")
        tags.append("indented")
    elif "zw" in obf:
        lines[0] = zero_width(lines[0], rng)
        lines[-1] = zero_width(lines[-1], rng)
        raw = "\n".join(lines)
        tags.append("zw")
    elif "fullwidth_header" in obf:
        lines[0] = fullwidth(lines[0])
        lines[-1] = fullwidth(lines[-1])
        raw = "\n".join(lines)
        tags.append("fullwidth_header")
    else:
        raw = "\n".join(lines)
    if tpl.endswith(": {}") and not tags:
        raw = " ".join(lines)  # the one-line template: still the plain block, spaces for newlines
    return Line().add(before).add(raw, "pem_private_key").add(after).build(
        "pos %s pem_private_key=%s" % (lang, tagstr(tags)))


def password_form(rng, lang):
    """(key, form): a key=value form, or (half of the English, a third of the Chinese lines) a form
    with no keyword before the value (URL userinfo, command-line flag, SQL, XML, redis, prose)."""
    if rng.random() < (0.5 if lang == "en" else 0.33):
        forms = PW_FORMS_CONTEXT + (PW_FORMS_PROSE if lang == "en" else ())
        form = rng.choice(forms)
        for k, pool in (("{u}", PW_USERS), ("{h}", PW_HOSTS), ("{db}", PW_DBS)):
            form = form.replace(k, rng.choice(pool))
        return "password", form.replace("{ip}", "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256),
                                                                   rng.randrange(1, 255)))
    if lang == "zh":
        return (rng.choice(PW_KEYS_ZH), rng.choice(PW_FORMS_ZH))
    return (rng.choice(PW_KEYS_EN), rng.choice(PW_FORMS_EN))


def password_parts(rng, lang, obf):
    key, form = password_form(rng, lang)
    value = password_value(rng, key)
    tags = []
    kv_before, kv_after = form.replace("{k}", key).split("{v}")
    if "fullwidth" in obf:
        kv_before = fullwidth(kv_before)
        kv_after = fullwidth(kv_after)
    value = apply_width_zw(rng, value, obf, tags)
    return kv_before, value, kv_after, tags


def pos_password(rng, obf, lang):
    kv_before, value, kv_after, tags = password_parts(rng, lang, obf)
    tpl = rng.choice(PW_CTX[lang])
    before, after = tpl.split("{a}")
    line = Line().add(before + kv_before).add(value, "password_assignment").add(kv_after + after)
    return line.build("pos %s password_assignment=%s" % (lang, tagstr(tags)))


def positive(rng, det, obf, lang):
    if det == "pem_private_key":
        return pos_pem(rng, obf, lang)
    if det == "password_assignment":
        return pos_password(rng, obf, lang)
    return pos_simple(rng, det, obf, lang)


FIELD_LABELS = {
    "cn_resident_id": ("身份证号：", "ID card: "), "cn_mobile": ("手机：", "mobile: "),
    "bank_card": ("卡号：", "card no: "), "email": ("邮箱：", "email: "), "iban": ("IBAN：", "IBAN: "),
    "us_ssn": ("SSN：", "SSN: "), "cloud_access_key": ("AccessKeyId：", "access key: "),
    "jwt": ("令牌：", "token: "),
}
MIXED_POOL = tuple(FIELD_LABELS) + ("password_assignment",)


def mixed(rng, lang):
    k = rng.randrange(2, 5)
    pool = list(MIXED_POOL)
    rng.shuffle(pool)
    chosen = pool[:k]
    line = Line().add(rng.choice(("客户资料：", "请整理成表格：", "工单备注：")) if lang == "zh"
                          else rng.choice(("Customer profile: ", "Summarise this record: ", "Ticket notes: ")))
    notes = []
    for i, det in enumerate(chosen):
        if i:
            line.add("；" if lang == "zh" else "; ")
        obf = rng.choice(OBF_MENU[det]) if rng.random() < 0.5 else ()
        obf = tuple(o for o in obf if o not in ("zh_adjacent", "percent"))
        if det == "password_assignment":
            kv_before, value, kv_after, tags = password_parts(rng, lang, obf)
            line.add(kv_before).add(value, det).add(kv_after)
        else:
            raw, tags = RENDER[det](rng, obf)
            raw = apply_width_zw(rng, raw, obf, tags)
            line.add(FIELD_LABELS[det][0 if lang == "zh" else 1]).add(raw, det)
        notes.append("%s=%s" % (det, tagstr(tags)))
    line.add("。" if lang == "zh" else ".")
    return line.build("pos %s %s" % (lang, " ".join(notes)))


# ---------------------------------------------------------------- negatives
# Each generator returns (text, obfuscation tag list).

def bad_id(rng):
    n = id_number(rng)
    wrong = rng.choice([c for c in "0123456789X" if c != n[-1]])
    bad = n[:-1] + wrong
    assert not id_valid(bad)
    return bad


def neg_order_number(rng):
    kind = rng.randrange(5)
    if kind == 0:
        n = "%04d%02d%02d" % (rng.randrange(2019, 2026), rng.randrange(1, 13), rng.randrange(1, 29)) + digits(rng, 10)
        return rng.choice(("订单号：%s，请尽快发货。", "Order #%s has shipped.", "您的订单%s已签收")) % n, []
    if kind == 1:
        n = digits(rng, rng.choice((16, 17, 19, 20)), "123456789")
        return rng.choice(("订单编号 %s 申请退款", "order_id=%s status=PAID", "交易单号：%s")) % n, []
    if kind == 2:
        return "微信支付交易单号 42000%s" % digits(rng, 23), []
    if kind == 3:
        return rng.choice(("快递单号 SF%s 已揽收", "Tracking number: YT%s")) % digits(rng, 13, "123456789"), []
    n = digits(rng, 18, "123456789")
    return rng.choice(("流水号%s，金额￥128.00", "Invoice %s is overdue")) % group(n, (6, 6, 6), " "), ["sep"]


def neg_id_bad_checksum(rng):
    n = bad_id(rng)
    tags = []
    r = rng.random()
    if r < 0.25:
        n = group(n, (6, 8, 4), rng.choice((" ", "-")))
        tags.append("sep")
    elif r < 0.4:
        n = fullwidth(n)
        tags.append("fullwidth")
    elif r < 0.5:
        n = zero_width(n, rng)
        tags.append("zw")
    tpl = rng.choice(CTX["cn_resident_id"]["zh"] + CTX["cn_resident_id"]["en"])
    return tpl.replace("{}", n), tags


def bad_card(rng):
    n, _ = card_number(rng)
    wrong = rng.choice([c for c in "0123456789" if c != n[-1]])
    bad = n[:-1] + wrong
    assert not luhn_valid(bad)
    return bad


def ean13(rng, first):
    body = first + digits(rng, 12 - len(first))
    c = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(c)


def imei(rng):
    """15 digits: an 8-digit type allocation code, a 6-digit serial, a Luhn check digit."""
    payload = rng.choice(("35", "86", "01", "99")) + digits(rng, 12)
    return payload + luhn_digit(payload)


def neg_card_luhn_invalid(rng):
    n = bad_card(rng)
    tags = []
    r = rng.random()
    if r < 0.4:
        n = group(n, card_groups(n), rng.choice((" ", "-")))
        tags.append("sep")
    elif r < 0.55:
        n = fullwidth(n)
        tags.append("fullwidth")
    elif r < 0.65:
        n = zero_width(n, rng)
        tags.append("zw")
    tpl = rng.choice(CTX["bank_card"]["zh"] + CTX["bank_card"]["en"])
    return tpl.replace("{}", n), tags


def neg_timestamp(rng):
    y, mo, d = rng.randrange(2015, 2027), rng.randrange(1, 13), rng.randrange(1, 29)
    h, mi, s = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    secs = rng.randrange(1400000000, 1800000000)
    forms = (
        "[%04d-%02d-%02d %02d:%02d:%02d.%03d] INFO request finished in 35ms" % (y, mo, d, h, mi, s, rng.randrange(1000)),
        "created_at=%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, h, mi, s),
        "时间戳 %d 对应的北京时间是几点？" % secs,
        "ts_ms=%d%03d event=login_ok" % (secs, rng.randrange(1000)),
        "日志时间 %04d%02d%02d%02d%02d%02d，服务重启" % (y, mo, d, h, mi, s),
        "会议定在%d年%d月%d日下午%d点，请准时参加。" % (y, mo, d, rng.randrange(1, 6)),
        "Build %04d%02d%02d.%02d%02d finished" % (y, mo, d, h, mi),
    )
    return rng.choice(forms), []


def neg_phone_not_mobile(rng):
    area = rng.choice(("010", "021", "020", "0755", "0571", "028", "027", "0512"))
    local = digits(rng, 8 if len(area) == 3 else rng.choice((7, 8)), "2345678")
    forms = (
        ("办公室座机：%s-%s" % (area, local), []),
        ("Office landline: (%s) %s" % (area, group(local, (4, 4), " ")), ["sep"]),
        ("总机 %s %s 转 %d" % (area, local, rng.randrange(100, 999)), []),
        ("客服热线400-%s-%s" % (digits(rng, 3), digits(rng, 4)), []),
        ("免费电话 800%s" % digits(rng, 7), []),
        ("这个号码%s是12位，不是手机号" % ("1" + rng.choice("3589") + digits(rng, 10)), []),
        ("编号%s只有10位" % ("1" + rng.choice("3589") + digits(rng, 8)), []),
        ("Call +1 (415) 555-01%02d for support" % rng.randrange(100), []),
        ("香港电话 +852 %s" % group(digits(rng, 8, "2356"), (4, 4), " "), ["sep"]),
        ("内部工号 %s" % ("1" + rng.choice("012") + digits(rng, 9)), []),
    )
    return rng.choice(forms)


def neg_product_code(rng):
    forms = (
        ("SKU: %s-%s-%s" % (rstr(rng, UPPER, 2), digits(rng, 4), digits(rng, 5)), []),
        ("型号：RTX-%d-%dG，库存%d台" % (rng.choice((3090, 4090, 4080)), rng.choice((12, 16, 24)), rng.randrange(1, 99)), []),
        ("零件号 %s-2RS 轴承" % digits(rng, 4, "6"), []),
        ("ISBN %s" % isbn13(rng), []),
        ("书号 ISBN %s" % group(isbn13(rng), (3, 1, 3, 5, 1), "-"), ["sep"]),
        ("Part No. %s" % group(digits(rng, 16, "123456789"), (4, 4, 4, 4), "-"), ["sep"]),
        ("设备序列号 SN%s%s" % (rstr(rng, UPPER, 3), digits(rng, 12)), []),
        ("商品条码 69%s" % digits(rng, 11), []),
        ("License key: %s" % "-".join(rstr(rng, UPPER + "0123456789", 5) for _ in range(5)), []),
    )
    return rng.choice(forms)


def uuid_str(rng):
    h = rstr(rng, HEX, 32)
    h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def neg_uuid(rng):
    u = uuid_str(rng)
    return rng.choice(("request_id=%s", "请求ID：%s 出现超时", "trace %s failed at step 3", "{\"id\": \"%s\"}")) % u, []


def neg_hash(rng):
    forms = (
        "commit %s\nAuthor: CI Bot" % rstr(rng, HEX, 40),
        "git cherry-pick %s" % rstr(rng, HEX, rng.choice((7, 12, 40))),
        "sha256:%s" % rstr(rng, HEX, 64),
        "文件校验值（SHA-256）：%s" % rstr(rng, HEX, 64),
        "md5sum: %s  model.gguf" % rstr(rng, HEX, 32),
        "镜像摘要 registry.example.com/app@sha256:%s" % rstr(rng, HEX, 64),
    )
    return rng.choice(forms), []


def neg_base64_not_jwt(rng):
    obj = {"user": "demo", "exp": rng.randrange(1600000000, 1800000000), "scope": "read"}
    forms = (
        "data: %s" % base64.b64encode(rbytes(rng, rng.randrange(24, 90))).decode(),
        "这段base64是什么：%s" % base64.b64encode(rbytes(rng, rng.randrange(16, 60))).decode(),
        "cursor=%s" % b64url(json.dumps(obj).encode()),
        "kubectl secret value: %s" % base64.b64encode(json.dumps(obj).encode()).decode(),
        "<img src=\"data:image/png;base64,%s\">" % base64.b64encode(b"\x89PNG\r\n\x1a\n" + rbytes(rng, 40)).decode(),
        "version %d.%d.%d of lib.example.core" % (rng.randrange(10), rng.randrange(30), rng.randrange(50)),
    )
    return rng.choice(forms), []


def bad_iban(rng):
    n = iban_number(rng)
    wrong = rng.choice([c for c in range(2, 99) if c != int(n[2:4])])
    bad = "%s%02d%s" % (n[:2], wrong, n[4:])
    assert not iban_valid(bad)
    return bad


def neg_iban_bad_checksum(rng):
    n = bad_iban(rng)
    tags = []
    if rng.random() < 0.6:
        n = group(n, (4,) * 8, " ")
    if rng.random() < 0.15:
        n = fullwidth(n)
        tags.append("fullwidth")
    tpl = rng.choice(CTX["iban"]["zh"] + CTX["iban"]["en"])
    return tpl.replace("{}", n), tags


def neg_bank_ids(rng):
    forms = (
        "SWIFT/BIC: %s%s%s" % (rstr(rng, UPPER, 4), rng.choice(("DE", "GB", "FR", "CN")), rstr(rng, UPPER, 2)),
        "VAT number DE%s" % digits(rng, 9),
        "统一社会信用代码：%s" % uscc(rng),
        "Sort code %s-%s-%s, account %s" % (digits(rng, 2), digits(rng, 2), digits(rng, 2), digits(rng, 8)),
    )
    return rng.choice(forms), []


def bad_ssn(rng):
    kind = rng.randrange(5)
    g, s = rng.randrange(1, 100), rng.randrange(1, 10000)
    area = rng.randrange(1, 900)
    if kind == 0:
        n = "000-%02d-%04d" % (g, s)
    elif kind == 1:
        n = "666-%02d-%04d" % (g, s)
    elif kind == 2:
        n = "%03d-%02d-%04d" % (rng.randrange(900, 1000), g, s)
    elif kind == 3:
        n = "%03d-00-%04d" % (area if area != 666 else 667, s)
    else:
        n = "%03d-%02d-0000" % (area if area != 666 else 667, g)
    assert not ssn_valid(n)
    return n


def neg_ssn_invalid(rng):
    n = bad_ssn(rng)
    tags = []
    if rng.random() < 0.15:
        n = fullwidth(n)
        tags.append("fullwidth")
    tpl = rng.choice(CTX["us_ssn"]["zh"] + CTX["us_ssn"]["en"])
    return tpl.replace("{}", n), tags


def neg_us_numbers(rng):
    forms = (
        "ZIP code %s-%s" % (digits(rng, 5), digits(rng, 4)),
        "Phone: 555-%s-%s" % (digits(rng, 3), digits(rng, 4)),
        "EIN %s-%s" % (digits(rng, 2), digits(rng, 7)),
        "Routing %s, ref %s" % (digits(rng, 9), digits(rng, 6)),
    )
    return rng.choice(forms), []


def neg_email_like(rng):
    local = rng.choice(EMAIL_LOCALS).replace("+billing", "")
    dom, tld = rng.choice((("example", "com"), ("example", "org"), ("example", "net")))
    forms = (
        "%s at %s dot %s" % (local, dom, tld),
        "%s [at] %s [dot] %s" % (local, dom, tld),
        "%s(at)%s.%s" % (local, dom, tld),
        "邮箱是 %s 艾特 %s 点 %s" % (local, dom, tld),
        "%s#%s.%s（把#换成@）" % (local, dom, tld),
        "follow @%s on the forum" % local.replace(".", "_"),
        "npm install lodash@%d.%d.%d" % (rng.randrange(5), rng.randrange(20), rng.randrange(30)),
        "@media (max-width: %dpx) { body { margin: 0 } }" % rng.choice((480, 768, 1024)),
        "@Override public String toString()",
        "import type { Foo } from '@types/%s'" % rng.choice(("node", "react")),
        "邮箱格式应为 name@domain，请重新输入",
        "docker pull app@sha256:%s" % rstr(rng, HEX, 64),
    )
    return rng.choice(forms), []


def neg_key_like(rng):
    pub = pem_block(rng, "PUBLIC KEY")
    forms = (
        "\n".join(pem_block(rng, "PUBLIC KEY")),
        "Here is our certificate:\n" + "\n".join(pem_block(rng, "CERTIFICATE")),
        "ssh-ed25519 %s ops@bastion" % base64.b64encode(b"\0\0\0\x0bssh-ed25519" + rbytes(rng, 36)).decode(),
        "公钥如下：\n" + "\n".join(pub),
        "Where do I find the AKIA prefix in the IAM console?",
        "arn:aws:iam::%s:role/%s" % (digits(rng, 12), rng.choice(("deploy", "reader"))),
        "key id %s is too short" % ("AKIA" + rstr(rng, UPPER, 8)),
        "阿里云AccessKey ID一般以LTAI开头，请到控制台查看",
        "tencent SecretId format: AKID followed by 32 characters",
        "what does BEGIN PRIVATE KEY mean in a PEM file?",
    )
    return rng.choice(forms), []


def neg_password_nonsecret(rng):
    key = rng.choice(PW_KEYS_EN)
    forms = (
        "%s=********" % key,
        "%s: ••••••••" % key,
        "%s=<redacted>" % key,
        "%s: [REDACTED]" % key,
        "%s=${DB_PASSWORD}" % key,
        "%s: {{ .Values.db.password }}" % key,
        "%s = %%(password)s" % key,
        "%s=" % key,
        "password_min_length=%d" % rng.randrange(8, 20),
        "password_expiry_days: %d" % rng.choice((30, 60, 90)),
        "PASSWORD_FILE=/run/secrets/db",
        "密码：******",
        "密码强度：强",
        "密码学：对称加密与非对称加密的区别是什么？",
        "忘记密码？请点击登录页的找回链接。",
        "Passwordless login is enabled for this tenant.",
        "支付密码：●●●●●●",
    )
    return rng.choice(forms), []


def neg_asset_or_userinfo(rng):
    """Look like addresses, are not: asset names with a density suffix or a file extension as
    "TLD", URL userinfo without a password."""
    name = rng.choice(("logo", "banner", "icon-close", "avatar_default", "hero", "btn-primary", "splash"))
    forms = (
        "import logoUrl from './assets/%s@%dx.png'" % (name, rng.choice((2, 3))),
        ".hero { background-image: url(img/%s@2x.jpg); }" % name,
        "把 %s@3x.webp 压缩一下，太大了" % name,
        "srcset=\"%s.png 1x, %s@2x.png 2x\"" % (name, name),
        "Missing file: static/%s@dark.svg" % name,
        "打包后多了 vendor@%s.js 和 vendor@%s.css" % (rstr(rng, HEX, 8), rstr(rng, HEX, 8)),
        "DATABASE_URL=postgres://%s@%s/%s (peer auth)" % (rng.choice(PW_USERS), rng.choice(PW_HOSTS), rng.choice(PW_DBS)),
        "git clone https://%s@git.example.org/team/repo.git" % rng.choice(PW_USERS),
        "SENTRY_DSN=https://%s@o%d.ingest.example.io/%d" % (rstr(rng, HEX, 32), rng.randrange(10000), rng.randrange(1000)),
        "ssh://%s@bastion.example.com:2222 连不上" % rng.choice(PW_USERS),
    )
    return rng.choice(forms), []


def neg_key_placeholder(rng):
    """Documentation placeholders shaped like keys."""
    label = rng.choice(PEM_LABELS)
    filler = rng.choice(("<your private key here>", "...", "(paste the key)", "<PRIVATE KEY CONTENT>", "..."))
    forms = (
        "aws_access_key_id = AKIA%sEXAMPLE" % rstr(rng, UPPER + "234567", 9),
        "export AWS_ACCESS_KEY_ID=AKIA" + "X" * 16,
        "文档里的示例密钥 ASIA%sEXAMPLE 可以直接用吗？" % rstr(rng, UPPER + "234567", 9),
        "AccessKeyId: LTAI" + rng.choice(("x", "X", "0")) * 16,
        "SecretId: AKID" + "X" * 32,
        "Format:\n-----BEGIN %s-----\n%s\n-----END %s-----" % (label, filler, label),
        "密钥格式：-----BEGIN %s----- %s -----END %s-----" % (label, filler, label),
    )
    return rng.choice(forms), []


def neg_imei_ean(rng):
    """Luhn-valid or checksum-bearing numbers that are no card: IMEIs (the check digit is Luhn),
    EAN-13 barcodes."""
    n = imei(rng)
    forms = (
        ("IMEI: %s" % n, []),
        ("手机串号 IMEI %s，帮我查保修" % n, []),
        ("IMEI %s-%s-%s-%s" % (n[:2], n[2:8], n[8:14], n[14]), ["sep"]),
        ("商品条码 %s" % ean13(rng, "69"), []),
        ("| %s | 矿泉水 | %d |" % (ean13(rng, "69"), rng.randrange(1, 999)), []),
        ("EAN %s, qty %d" % (ean13(rng, rng.choice(("50", "54", "76", "80", "87"))), rng.randrange(1, 99)), []),
    )
    return rng.choice(forms)


def neg_password_code(rng):
    """Code that handles a password but holds none: the value is an expression or a variable."""
    k = rng.choice(PW_KEYS_EN)
    forms = (
        "%s = getpass.getpass('Enter the DB password: ')" % k,
        "%s=os.environ[\"%s\"]" % (k, k.upper()),
        "%s = os.getenv('%s', '')" % (k, k.upper()),
        "user.%s = bcrypt.hashpw(raw.encode(), bcrypt.gensalt(rounds=12))" % k,
        "%s = hashlib.sha256(salt + raw).hexdigest()" % k,
        "conn = pymysql.connect(host=host, user=user, %s=%s)" % (k, k),
        "%s = request.form['%s']" % (k, k),
        "%s: Optional[str] = None" % k,
        "%s = keyring.get_password(\"svc\", user)" % k,
        "%s = vault.read(\"secret/data/db\")[\"data\"]" % k,
        "if not check_password(%s, user.hash): raise AuthError" % k,
        "密码 = getpass.getpass()  # 不要写死在代码里",
    )
    return rng.choice(forms), []


PROSE = (
    "请帮我把这段Python代码改成异步版本。", "Summarise the attached meeting notes in three bullet points.",
    "2的32次方等于4294967296，对吗？", "What is the capital of Australia?", "帮我写一首关于秋天的七言绝句。",
    "Explain the difference between TCP and UDP.", "第3章第12节讲的是什么？", "The recipe needs 250 g flour and 3 eggs.",
    "π ≈ 3.14159265358979323846，请解释它为什么是无理数。", "Translate 'good morning' into Japanese.",
    "服务器地址是192.168.10.23，端口8080。", "Our Q3 revenue was ¥1,234,567.89, up 12% year over year.",
    "坐标 31.2304, 121.4737 附近有什么餐厅？", "Please review pull request 4821 before Friday.",
    "会议室B-302已预订。", "Set max_tokens to 4096 and temperature to 0.7.", "列出十个常见的中文成语并解释。",
    "Write a SQL query that counts orders per day.", "我们的项目代号是北极星，下周上线。",
    "The model has 70 billion parameters and 80 layers.", "版本号 v2.14.3 修复了内存泄漏。",
    "How do I reset a forgotten Linux root account?", "这个正则表达式 ^\\d{3}-\\d{4}$ 匹配什么？",
    "Compute 123456789 * 987654321 for me.", "车牌号京A·F0000是测试用的吗？", "Latitude 40.7128, longitude -74.0060.",
    "请把上面的表格转成Markdown。", "The train leaves at 14:35 from platform 9.", "用户反馈APP在安卓14上闪退。",
    "Generate a UUID v4 format description, not an actual value.", "今天北京的空气质量指数是多少？",
    "Draft a polite reminder about the unpaid invoice.", "解释一下什么是零宽字符。", "What does HTTP status 503 mean?",
    "写一个函数判断身份证号的校验位是否正确。", "How are credit card numbers validated with the Luhn algorithm?",
    "How do I rotate AWS access keys safely?", "什么是JWT？请举例说明它的三个部分。",
    "Explain what an IBAN is and how its check digits work.", "My password manager keeps logging me out, why?",
)


def neg_prose(rng, i):
    return PROSE[i % len(PROSE)], []


NEGATIVE_KINDS = (  # (kind, generator, count)
    ("order_number", neg_order_number, 40),
    ("id_bad_checksum", neg_id_bad_checksum, 50),
    ("card_luhn_invalid", neg_card_luhn_invalid, 45),
    ("timestamp", neg_timestamp, 35),
    ("phone_not_mobile", neg_phone_not_mobile, 40),
    ("product_code", neg_product_code, 35),
    ("uuid", neg_uuid, 20),
    ("hash", neg_hash, 25),
    ("base64_not_jwt", neg_base64_not_jwt, 25),
    ("iban_bad_checksum", neg_iban_bad_checksum, 30),
    ("bank_or_company_id", neg_bank_ids, 12),
    ("ssn_invalid", neg_ssn_invalid, 35),
    ("us_number_not_ssn", neg_us_numbers, 12),
    ("email_spelled_or_handle", neg_email_like, 30),
    ("key_like_not_secret", neg_key_like, 25),
    ("password_not_secret", neg_password_nonsecret, 35),
    ("asset_or_userinfo", neg_asset_or_userinfo, 25),
    ("key_placeholder", neg_key_placeholder, 20),
    ("imei_ean", neg_imei_ean, 25),
    ("password_code", neg_password_code, 25),
    ("prose", None, 40),
)

# ---------------------------------------------------------------- validation

JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CLOUD_RE = re.compile(r"(?<![A-Za-z0-9])(?:(?:AKIA|ASIA)[A-Z2-7]{16}|LTAI[A-Za-z0-9]{12,20}|AKID[A-Za-z0-9]{32})(?![A-Za-z0-9])")
PEM_RE = re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")


def jwt_valid(s):
        parts = s.split(".")
        if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts):
                return False
        try:
                header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        except ValueError:
                return False
        return isinstance(header, dict) and "alg" in header


PLACEHOLDER_RE = re.compile(r"^(?:[*•●xX]+|<[^>]*>|\[[^\]]*\]|\$\{[^}]*\}|\{\{.*\}\}|%\(.*\)s)$")


def span_valid(typ, span):
    """Does the normalised gold span hold a value of its type?"""
    s = strip_invisible_nfkc(span)
    compact = re.sub(r"[ .\-]", "", s)
    if typ == "cn_resident_id":
        return id_valid(compact)
    if typ == "cn_mobile":
        return mobile_valid(s)
    if typ == "bank_card":
        return card_valid(compact)
    if typ == "email":
        return EMAIL_RE.fullmatch(s) is not None
    if typ == "iban":
        return iban_valid(s)
    if typ == "us_ssn":
        return ssn_valid(s)
    if typ == "pem_private_key":
        t = s.replace("\\n", "\n")
        return PEM_RE.match(t) is not None and re.search(r"-----END (?:[A-Z]+ )*PRIVATE KEY-----$", t) is not None
    if typ == "cloud_access_key":
        return CLOUD_RE.fullmatch(s) is not None
    if typ == "jwt":
        return jwt_valid(s)
    if typ == "password_assignment":
        return re.fullmatch(r"\S+", s) is not None and PLACEHOLDER_RE.match(s) is None
    return False


URL_USERINFO_RE = re.compile(r"[A-Za-z0-9]://[^\s/?\"'`<>\x80-\U0010ffff]*$")
ASSET_EXT = ("png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "bmp", "tiff", "css", "js", "json", "map", "mov",
             "pdf", "zip", "gz", "txt", "md")


def email_exempt(text, m):
    """README (email): the userinfo of a URL (scheme://user@, scheme://user:pass@) and asset names
    (x@2x.png, x@dark.svg) are no address."""
    at = m.group().index("@") + m.start()
    domain = text[at + 1:m.end()]
    if re.match(r"[0-9]+[xX]\.", domain) or domain.rsplit(".", 1)[1].lower() in ASSET_EXT:
        return True
    return URL_USERINFO_RE.search(text[max(0, at - 512):at]) is not None


def cloud_exempt(text, m):
    """README (cloud_access_key): documentation ids ending in EXAMPLE or with a run of 8."""
    return m.group().endswith("EXAMPLE") or re.search(r"(.)\1{7}", m.group()) is not None


def pem_exempt(text, m):
    """README (pem_private_key): an END line with no base64 run of 16 before it is a placeholder."""
    end = re.compile(r"-----END (?:[A-Z]+ )*PRIVATE KEY-----").search(text, m.end())
    return end is not None and re.search(r"[A-Za-z0-9+/=]{16}", text[m.end():end.start()]) is None


def claims(text):
    """Checksum/pattern hits in the normalised text, as (type, first char, last char + 1) of text.
    Every hit must be labeled; this keeps e.g. a Luhn-valid order number out of the negatives."""
    norm, src = normalise(text)
    out = []

    def add(typ, a, b):
        out.append((typ, src[a], src[b - 1] + 1))
    for m in re.finditer(r"[0-9]+", norm):
        run, a, b = m.group(), m.start(), m.end()
        if len(run) == 18 and id_valid(run):
            add("cn_resident_id", a, b)
        if len(run) == 17 and b < len(norm) and norm[b] in "Xx" and id_valid(run + "X"):
            add("cn_resident_id", a, b + 1)
        if card_valid(run):
            add("bank_card", a, b)
        if re.fullmatch(r"(?:86|0086)?" + MOBILE_RE, run):
            add("cn_mobile", a, b)
    n2, src2 = normalise_no_collapse(text)
    for m in re.finditer(r"(?<![0-9])[0-9]{3}([- .])[0-9]{2}\1[0-9]{4}(?![0-9])", n2):
        if ssn_valid(m.group()):
            out.append(("us_ssn", src2[m.start()], src2[m.end() - 1] + 1))
    for m in re.finditer(r"(?<![A-Za-z0-9])([A-Z]{2})[0-9]{2}", n2):
        cc = m.group(1)
        if cc not in IBAN_BBAN:
            continue
        want, got, k = iban_length(cc), "", m.start()
        while k < len(n2) and len(got) < want and (n2[k].isascii() and n2[k].isalnum() or n2[k] in " -"):
            if n2[k] not in " -":
                got += n2[k]
            k += 1
        if len(got) == want and iban_valid(got):
            out.append(("iban", src2[m.start()], src2[k - 1] + 1))
    for rx, typ, exempt in ((EMAIL_RE, "email", email_exempt), (CLOUD_RE, "cloud_access_key", cloud_exempt),
                            (PEM_RE, "pem_private_key", pem_exempt)):
        for m in rx.finditer(n2):
            if not exempt(n2, m):
                out.append((typ, src2[m.start()], src2[m.end() - 1] + 1))
    for m in JWT_RE.finditer(n2):
        if jwt_valid(m.group()):
            out.append(("jwt", src2[m.start()], src2[m.end() - 1] + 1))
    return out


# Types whose gold spans must be found by the pattern/checksum pass above.
PATTERN_TYPES = ("cn_resident_id", "cn_mobile", "bank_card", "email", "iban", "cloud_access_key", "jwt", "pem_private_key")


def check_line(obj):
    """Raise ValueError naming the problem if obj is not a well-formed, consistent corpus line."""
    text = obj["text"]
    raw = text.encode("utf-8")
    spans = []
    prev_end = 0
    for e in obj["entities"]:
        if e["type"] not in DETECTORS:
            raise ValueError("unknown detector %r" % e["type"])
        a, b = e["start"], e["end"]
        if not (0 <= prev_end <= a < b <= len(raw)):
            raise ValueError("entity %r: offsets out of order or out of range" % e)
        try:
            span = raw[a:b].decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("entity %r does not cut on UTF-8 character boundaries" % e)
        if not strip_invisible_nfkc(span).strip():
            raise ValueError("entity %r cuts an empty span" % e)
        if span != span.strip() or span[0] in INVISIBLE or span[-1] in INVISIBLE:
            raise ValueError("entity %r has leading/trailing blanks or invisible characters" % e)
        if not span_valid(e["type"], span):
            raise ValueError("entity %r: span %r is not a valid %s" % (e, span, e["type"]))
        ca = len(raw[:a].decode("utf-8"))
        spans.append((e["type"], ca, ca + len(span)))
        prev_end = b
    hits = claims(text)
    for typ, a, b in hits:
        if not any(t == typ and a < gb and ga < b for t, ga, gb in spans):
            raise ValueError("unlabeled %s hit %r" % (typ, text[a:b]))
    for typ, a, b in spans:
        if typ in PATTERN_TYPES and not any(t == typ and a < hb and ha < b for t, ha, hb in hits):
            raise ValueError("labeled %s %r not found by the checksum/pattern pass" % (typ, text[a:b]))
    if obj["note"].split()[0] != ("pos" if obj["entities"] else "neg"):
        raise ValueError("note %r does not match the entities" % obj["note"])


# ---------------------------------------------------------------- generation

def attempt(rng, make, what):
    for _ in range(200):
        obj = make()
        try:
            check_line(obj)
            return obj
        except ValueError as ex:
            last = ex
    raise SystemExit("make-corpus: cannot generate a consistent %s line: %s" % (what, last))


def generate():
    rng = random.Random(SEED)
    lines = []
    for det in DETECTORS:
        menu = OBF_MENU[det]
        for i in range(POS_PER_DETECTOR):
            lang = "zh" if i % 2 == 0 else "en"
            obf = menu[i % len(menu)] if i < OBF_PER_DETECTOR else ()
            lines.append(attempt(rng, lambda: positive(rng, det, obf, lang), det))
    for i in range(MIXED_LINES):
        lang = "zh" if i % 2 == 0 else "en"
        lines.append(attempt(rng, lambda: mixed(rng, lang), "mixed"))
    for kind, gen, count in NEGATIVE_KINDS:
        for i in range(count):
            def make():
                text, tags = neg_prose(rng, i) if gen is None else gen(rng)
                lang = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
                return {"text": text, "entities": [],
                        "note": "neg %s %s%s" % (lang, kind, " obf=" + tagstr(tags) if tags else "")}
            lines.append(attempt(rng, make, kind))
    return lines


INVISIBLE_ESCAPES = {ord(c): "\\u%04x" % ord(c) for c in INVISIBLE}


def dump(lines):
    # Raw UTF-8, but invisible characters escaped so the file can be reviewed in an editor.
    return "".join(json.dumps(o, ensure_ascii=False).translate(INVISIBLE_ESCAPES) + "\n" for o in lines).encode("utf-8")


def stats(lines):
    pos, obf, tags = collections.Counter(), collections.Counter(), collections.Counter()
    neg = collections.Counter()
    langs = collections.Counter()
    for o in lines:
        words = o["note"].split()
        langs[words[1]] += 1
        if words[0] == "neg":
            neg[words[2] + (" (obfuscated)" if len(words) > 3 else "")] += 1
            continue
        for w in words[2:]:
            det, t = w.split("=", 1)
            pos[det] += 1
            if t != "plain":
                obf[det] += 1
                for x in t.split("+"):
                    tags[x] += 1
    npos = sum(1 for o in lines if o["entities"])
    print("lines: %d  positive lines: %d  negative lines: %d (%.1f%%)  zh: %d  en: %d"
          % (len(lines), npos, len(lines) - npos, 100.0 * (len(lines) - npos) / len(lines), langs["zh"], langs["en"]))
    print("%-22s %9s %11s" % ("detector", "entities", "obfuscated"))
    for det in DETECTORS:
        print("%-22s %9d %11d" % (det, pos[det], obf[det]))
    print("obfuscations: " + ", ".join("%s %d" % kv for kv in sorted(tags.items())))
    print("negatives per kind:")
    for k, v in sorted(neg.items()):
        print("  %-40s %4d" % (k, v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify corpus.jsonl instead of writing it")
    ap.add_argument("--stats", action="store_true", help="print counts of corpus.jsonl")
    args = ap.parse_args()
    if args.stats:
        stats([json.loads(l) for l in CORPUS.read_text(encoding="utf-8").splitlines()])
        return 0
    data = dump(generate())
    if not args.check:
        CORPUS.write_bytes(data)
        print("wrote %s (%d bytes)" % (CORPUS, len(data)))
        return 0
    try:
        have = CORPUS.read_bytes()
    except OSError as ex:
        print("make-corpus: cannot read %s: %s" % (CORPUS, ex), file=sys.stderr)
        return 1
    if have != data:
        hl, dl = have.splitlines(), data.splitlines()
        first = next((i for i, (x, y) in enumerate(zip(hl, dl)) if x != y), min(len(hl), len(dl)))
        print("make-corpus: %s differs from the generator output (first at line %d; %d vs %d lines); "
              "run make-corpus.py to regenerate" % (CORPUS, first + 1, len(hl), len(dl)), file=sys.stderr)
        return 1
    lines = []
    for n, l in enumerate(have.decode("utf-8").splitlines(), 1):
        try:
            obj = json.loads(l)
            if set(obj) != {"text", "entities", "note"}:
                raise ValueError("keys are %s, want text, entities, note" % sorted(obj))
            check_line(obj)
        except ValueError as ex:
            print("make-corpus: %s:%d: %s" % (CORPUS.name, n, ex), file=sys.stderr)
            return 1
        lines.append(obj)
    if len(lines) < MIN_LINES:
        print("make-corpus: only %d lines, want >= %d" % (len(lines), MIN_LINES), file=sys.stderr)
        return 1
    stats(lines)
    print("OK: %s matches the generator and every line validates" % CORPUS.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
