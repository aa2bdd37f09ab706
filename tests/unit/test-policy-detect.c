/* test-policy-detect.c: the checksums, and every built-in detector on positives, obfuscated forms
 * (through the normaliser, hits mapped back to the raw text) and hard negatives. */
#include <stdlib.h>

#include "checksum.h"
#include "detect.h"
#include "normalize.h"
#include "test.h"

typedef struct Collect {
        const NormText *t;
        const char *raw;
        char out[1024];
        size_t n;
        size_t last_end;
        bool disordered;
} Collect;

static int collect(const DetectHit *h, void *userdata) {
        Collect *c = userdata;
        size_t a = c->t->map[h->start], b = normtext_source_end(c->t, c->raw, h->end);

        if (h->start < c->last_end || h->start >= h->end || h->end > c->t->len)
                c->disordered = true;
        c->last_end = h->end;
        c->n += (size_t) snprintf(c->out + c->n, sizeof c->out - MIN(c->n, sizeof c->out), "%s%s=%.*s",
                                  c->n ? " | " : "", detect_type_name(h->type), (int) (b - a), c->raw + a);
        return 0;
}

/* "type=raw text | type=raw text" for the hits in raw (normalised first). */
static const char *scan(const char *raw) {
        static Collect c;
        NormText t = { .want_map = true };

        c = (Collect) { .t = &t, .raw = raw };
        if (normalize_text(&t, raw, strlen(raw)) < 0 || detect_scan(t.buf, t.len, collect, &c) < 0)
                snprintf(c.out, sizeof c.out, "(error)");
        if (c.disordered)
                snprintf(c.out, sizeof c.out, "(hits out of order)");
        normtext_done(&t);
        return c.out;
}

TEST(checksums) {
        ASSERT_TRUE(checksum_gb11643("11010519491231002X"));
        ASSERT_TRUE(checksum_gb11643("11010519491231002x"));
        ASSERT_FALSE(checksum_gb11643("110105194912310021"));
        ASSERT_FALSE(checksum_gb11643("1101051949123100 X"));
        ASSERT_TRUE(checksum_luhn("4111111111111111", 16));
        ASSERT_TRUE(checksum_luhn("79927398713", 11));
        ASSERT_FALSE(checksum_luhn("4111111111111112", 16));
        ASSERT_FALSE(checksum_luhn("4111a11111111111", 16));
        ASSERT_FALSE(checksum_luhn("", 0));
        ASSERT_TRUE(checksum_iban("DE89370400440532013000", 22));
        ASSERT_TRUE(checksum_iban("GB82WEST12345698765432", 22));
        ASSERT_TRUE(checksum_iban("FR1420041010050500013M02606", 27));
        ASSERT_FALSE(checksum_iban("DE88370400440532013000", 22));
        ASSERT_FALSE(checksum_iban("gb82WEST12345698765432", 22));
        ASSERT_FALSE(checksum_iban("GB82 WEST12345698765432", 23));
        ASSERT_FALSE(checksum_iban("DE89", 4));
}

TEST(type_names) {
        for (int i = 0; i < _DETECT_TYPE_MAX; i++)
                ASSERT_EQ(detect_type_from_name(detect_type_name((DetectType) i)), i);
        ASSERT_NULL(detect_type_name(_DETECT_TYPE_MAX));
        ASSERT_ERROR(detect_type_from_name("emial"), -EINVAL);
        ASSERT_ERROR(detect_type_from_name(NULL), -EINVAL);
}

TEST(empty_and_nothing) {
        ASSERT_OK(detect_scan("", 0, collect, NULL));
        ASSERT_STREQ(scan(""), "");
        ASSERT_STREQ(scan("What is the capital of Australia? 今天北京的空气质量指数是多少？"), "");
}

TEST(resident_id) {
        ASSERT_STREQ(scan("身份证号11010519491231002X，请核对"), "cn_resident_id=11010519491231002X");
        ASSERT_STREQ(scan("id 11010519491231002x."), "cn_resident_id=11010519491231002x");
        ASSERT_STREQ(scan("ID 110105 19491231 002X ok"), "cn_resident_id=110105 19491231 002X");
        ASSERT_STREQ(scan("ID 4403-0519-7705-0304-3X"), "cn_resident_id=4403-0519-7705-0304-3X");
        /* full-width with a zero-width space inside */
        ASSERT_STREQ(scan("\xef\xbc\x91\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xe2\x80\x8b"
                          "1990030765\xef\xbc\x91\xef\xbc\xb8"),
                     "cn_resident_id=\xef\xbc\x91\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91"
                     "\xe2\x80\x8b" "1990030765\xef\xbc\x91\xef\xbc\xb8");
        /* wrong check character, impossible birth date, glued to a word, mixed separators */
        ASSERT_STREQ(scan("身份证号110105194912310021"), "");
        ASSERT_STREQ(scan("11010519491331002X"), "");
        ASSERT_STREQ(scan("SN11010519491231002X"), "");
        ASSERT_STREQ(scan("110105-19491231 002X"), "");
}

TEST(mobile) {
        ASSERT_STREQ(scan("手机13812345678，"), "cn_mobile=13812345678");
        ASSERT_STREQ(scan("call 138 1234 5678 now"), "cn_mobile=138 1234 5678");
        ASSERT_STREQ(scan("call +86 138-1234-5678"), "cn_mobile=+86 138-1234-5678");
        ASSERT_STREQ(scan("call +8613812345678"), "cn_mobile=+8613812345678");
        ASSERT_STREQ(scan("0086-19912345678"), "cn_mobile=0086-19912345678");
        /* landlines, 12 and 10 digits, a 10x segment, a mobile glued to an address's '@' */
        ASSERT_STREQ(scan("座机 010-62345678"), "");
        ASSERT_STREQ(scan("号码138123456789是12位"), "");
        ASSERT_STREQ(scan("编号1381234567"), "");
        ASSERT_STREQ(scan("工号 10812345678"), "");
        ASSERT_STREQ(scan("138 1234-5678"), "");
        ASSERT_STREQ(scan("13812345678@example.com"), "email=13812345678@example.com");
}

TEST(bank_card) {
        ASSERT_STREQ(scan("卡号6222021234567890128"), "bank_card=6222021234567890128");
        ASSERT_STREQ(scan("card 4111 1111 1111 1111."), "bank_card=4111 1111 1111 1111");
        ASSERT_STREQ(scan("amex 3782-822463-10005"), "bank_card=3782-822463-10005");
        /* Luhn-invalid, a Luhn-valid 13-digit millisecond timestamp (no card starts with 1),
         * a Luhn-valid number inside a word, too long */
        ASSERT_STREQ(scan("card 4111 1111 1111 1112"), "");
        ASSERT_STREQ(scan("ts_ms=1712345678123"), "");
        ASSERT_STREQ(scan("SKU4111111111111111"), "");
        ASSERT_STREQ(scan("41111111111111111111"), "");
}

TEST(bank_card_length_follows_the_issuer) {
        /* Visa 13/16/19, Mastercard 2-series 16, Diners 14, JCB 19, Discover 16, Mir 16 */
        ASSERT_STREQ(scan("visa 4222222222222"), "bank_card=4222222222222");
        ASSERT_STREQ(scan("visa 4111111111111111110"), "bank_card=4111111111111111110");
        ASSERT_STREQ(scan("mc 2223000048400011"), "bank_card=2223000048400011");
        ASSERT_STREQ(scan("diners 3056930009020004"), "bank_card=3056930009020004");
        ASSERT_STREQ(scan("diners 36227206271667"), "bank_card=36227206271667");
        ASSERT_STREQ(scan("jcb 3566000020000410"), "bank_card=3566000020000410");
        ASSERT_STREQ(scan("discover 6011111111111117"), "bank_card=6011111111111117");
        ASSERT_STREQ(scan("mir 2200000000000004"), "bank_card=2200000000000004");
        /* Luhn-valid, but not a length the prefix is issued in: an IMEI (15 digits, 35...), EAN-13
         * barcodes (69..., 50...), Visa with 15 digits, Amex with 16, Mastercard with 15, a 2-series
         * number outside 2221-2720, a 6x prefix no network uses */
        ASSERT_STREQ(scan("IMEI 35-209900-176148-1"), "");
        ASSERT_STREQ(scan("IMEI 490154203237518"), "");
        ASSERT_STREQ(scan("EAN 6901234567892, 5012345678900"), "");
        ASSERT_STREQ(scan("4111111111111103 is 16, 411111111111116 is 15"), "bank_card=4111111111111103");
        ASSERT_STREQ(scan("3782822463100053 and 555555555555442"), "");
        ASSERT_STREQ(scan("2800000000000006 6900000000000008"), "");
}

TEST(email) {
        ASSERT_STREQ(scan("Email me at zhang.wei@example.com."), "email=zhang.wei@example.com");
        ASSERT_STREQ(scan("请联系a+b@mail.example.org获取资料"), "email=a+b@mail.example.org");
        /* full-width @ and . */
        ASSERT_STREQ(scan("hr\xef\xbc\xa0" "example\xef\xbc\x8e" "com"), "email=hr\xef\xbc\xa0" "example\xef\xbc\x8e" "com");
        ASSERT_STREQ(scan("user at example dot com"), "");
        ASSERT_STREQ(scan("npm install lodash@4.17.21"), "");
        ASSERT_STREQ(scan("@media (max-width: 480px) and @Override"), "");
        ASSERT_STREQ(scan("docker pull app@sha256:0123abcd"), "");
        ASSERT_STREQ(scan("name@domain"), "");
}

TEST(email_not_url_userinfo_or_asset) {
        /* URL userinfo is not an address (the password in it is a password_assignment) */
        ASSERT_STREQ(scan("DATABASE_URL=postgres://reader@replica.example.com:5432/db"), "");
        ASSERT_STREQ(scan("dsn https://0123456789abcdef@o12.ingest.example.io/42"), "");
        ASSERT_STREQ(scan("see https://example.com/team/a.b@example.org"), "email=a.b@example.org");
        ASSERT_STREQ(scan("https://example.com?to=ops@example.org"), "email=ops@example.org");
        ASSERT_STREQ(scan("mailto:ops@example.org"), "email=ops@example.org");
        /* retina and asset names */
        ASSERT_STREQ(scan("import './img/banner@2x.png' and 'icons/close@3X.webp'"), "");
        ASSERT_STREQ(scan("sprite@large.svg, bundle@legacy.js, manual@v2.pdf, notes@draft.md"), "");
        ASSERT_STREQ(scan("ops@example.com.cn"), "email=ops@example.com.cn");
        /* percent-encoded in a query string: the normaliser decodes %40 */
        ASSERT_STREQ(scan("https://t.example.org/o.gif?uid=7&email=mei.lin%40example.org&c=1"),
                     "email=mei.lin%40example.org");
        ASSERT_STREQ(scan("discount 100%40 off"), "");
}

TEST(iban) {
        ASSERT_STREQ(scan("IBAN DE89370400440532013000."), "iban=DE89370400440532013000");
        ASSERT_STREQ(scan("IBAN：GB82 WEST 1234 5698 7654 32"), "iban=GB82 WEST 1234 5698 7654 32");
        ASSERT_STREQ(scan("FR14-2004-1010-0505-0001-3M02-606"), "iban=FR14-2004-1010-0505-0001-3M02-606");
        ASSERT_STREQ(scan("IBAN DE88370400440532013000"), "");           /* check digits */
        ASSERT_STREQ(scan("IBAN DE8937040044053201300"), "");            /* length */
        ASSERT_STREQ(scan("IBAN DE89 37040044 0532013000"), "");         /* grouping */
        ASSERT_STREQ(scan("VAT number DE123456789, BIC DEUTDEFF"), "");
}

TEST(ssn) {
        ASSERT_STREQ(scan("SSN 123-45-6789."), "us_ssn=123-45-6789");
        ASSERT_STREQ(scan("SSN 123 45 6789"), "us_ssn=123 45 6789");
        ASSERT_STREQ(scan("SSN 123.45.6789"), "us_ssn=123.45.6789");
        ASSERT_STREQ(scan("000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000"), "");
        ASSERT_STREQ(scan("123-45 6789, 123456789, ZIP 94103-1234, EIN 12-3456789"), "");
}

TEST(pem) {
        const char *key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        char in[256], want[256];

        snprintf(in, sizeof in, "key:\n%s\nthanks", key);
        snprintf(want, sizeof want, "pem_private_key=%s", key);
        ASSERT_STREQ(scan(in), want);
        ASSERT_STREQ(scan("{\"k\": \"-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIA"
                          "\\n-----END PRIVATE KEY-----\"}"),
                     "pem_private_key=-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIA"
                     "\\n-----END PRIVATE KEY-----");
        /* truncated: the header alone */
        ASSERT_STREQ(scan("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"),
                     "pem_private_key=-----BEGIN OPENSSH PRIVATE KEY-----");
        ASSERT_STREQ(scan("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), "");
        ASSERT_STREQ(scan("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"), "");
        ASSERT_STREQ(scan("what does BEGIN PRIVATE KEY mean?"), "");
        /* a frame around a placeholder holds no key (no base64 run of 16) ... */
        ASSERT_STREQ(scan("-----BEGIN RSA PRIVATE KEY-----\n<paste the key here>\n-----END RSA PRIVATE KEY-----"), "");
        ASSERT_STREQ(scan("-----BEGIN PRIVATE KEY-----\nMIIEvQ...\n...\n-----END PRIVATE KEY-----"), "");
        /* ... but a header without an END line stays reported, whatever follows */
        ASSERT_STREQ(scan("-----BEGIN EC PRIVATE KEY-----\n<key>"), "pem_private_key=-----BEGIN EC PRIVATE KEY-----");
}

TEST(cloud_access_key) {
        ASSERT_STREQ(scan("aws_access_key_id = AKIA2OGYBAH6T4QWRJ5M"), "cloud_access_key=AKIA2OGYBAH6T4QWRJ5M");
        ASSERT_STREQ(scan("ASIAY34FZKBOKMUTVV7A,"), "cloud_access_key=ASIAY34FZKBOKMUTVV7A");
        ASSERT_STREQ(scan("阿里云LTAI5tFd8bRq2xYz9wQe1234，"), "cloud_access_key=LTAI5tFd8bRq2xYz9wQe1234");
        ASSERT_STREQ(scan("SecretId: AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
                     "cloud_access_key=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA");
        ASSERT_STREQ(scan("key id AKIAABCDEFGH is too short"), "");
        ASSERT_STREQ(scan("AKIA2OGYBAH6T4QWRJ5M1 AKIA2OGYBAH6T4QWRJ51 XAKIA2OGYBAH6T4QWRJ5M"), "");
        /* documentation placeholders: ...EXAMPLE, a run of 8 identical characters */
        ASSERT_STREQ(scan("aws_access_key_id = AKIAIOSFODNN7EXAMPLE"), "");
        ASSERT_STREQ(scan("AKIAXXXXXXXXXXXXXXXX ASIAAAAAAAAAAAAAAAAA LTAI0000000000000000 "
                          "AKIDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), "");
        ASSERT_STREQ(scan("AKIA2OGYBAHHHHHHHQWR"), "cloud_access_key=AKIA2OGYBAHHHHHHHQWR"); /* a run of 7 */
        ASSERT_STREQ(scan("阿里云AccessKey ID一般以LTAI开头"), "");
}

TEST(jwt) {
        /* {"alg":"HS256","typ":"JWT"} . {"sub":"1"} . signature */
        const char *tok = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWJ5dGVz";
        char in[256], want[256];

        snprintf(in, sizeof in, "Authorization: Bearer %s\n", tok);
        snprintf(want, sizeof want, "jwt=%s", tok);
        ASSERT_STREQ(scan(in), want);
        /* one segment; a header without "alg" ({"typ":"JWT"}); standard base64 */
        ASSERT_STREQ(scan("cursor=eyJ1c2VyIjoiZGVtbyJ9"), "");
        ASSERT_STREQ(scan("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln"), "");
        ASSERT_STREQ(scan("version 1.2.3 of lib.example.core"), "");
}

TEST(password_assignment) {
        ASSERT_STREQ(scan("password=hunter22 and"), "password_assignment=hunter22");
        ASSERT_STREQ(scan("DB_PASSWORD=s3cr3tPass"), "password_assignment=s3cr3tPass");
        ASSERT_STREQ(scan("{\"password\": \"p a ss!\"}"), "password_assignment=p a ss!");
        ASSERT_STREQ(scan("--passwd='Xy7#kq29'"), "password_assignment=Xy7#kq29");
        ASSERT_STREQ(scan("  pwd: Tr0ub4dor\n"), "password_assignment=Tr0ub4dor");
        ASSERT_STREQ(scan("我的密码：abc12345，帮我登录"), "password_assignment=abc12345");
        ASSERT_STREQ(scan("登录密码是：Zx9qWe12"), "password_assignment=Zx9qWe12");
        ASSERT_STREQ(scan("口令:88aa99bb"), "password_assignment=88aa99bb");
        /* full-width key and ＝ */
        ASSERT_STREQ(scan("\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97\xef\xbd\x8f\xef\xbd\x92"
                          "\xef\xbd\x84\xef\xbc\x9d" "Qw3rty99"),
                     "password_assignment=Qw3rty99");
        /* placeholders, masks, keys that only contain the word */
        ASSERT_STREQ(scan("password=<your password>"), "");
        ASSERT_STREQ(scan("password: ****"), "");
        ASSERT_STREQ(scan("password=changeme"), "");
        ASSERT_STREQ(scan("password=xxx"), "");
        ASSERT_STREQ(scan("password: [REDACTED], pwd=${DB_PASSWORD}, passwd={{ .Values.pw }}"), "");
        ASSERT_STREQ(scan("password = %(password)s; password=\"\""), "");
        ASSERT_STREQ(scan("密码：******；支付密码：●●●●●●"), "");
        ASSERT_STREQ(scan("password_min_length=12 PASSWORD_FILE=/run/secrets/db Passwordless login"), "");
        ASSERT_STREQ(scan("密码强度：强。密码学：对称加密。忘记密码？"), "");
}

TEST(password_url_userinfo) {
        ASSERT_STREQ(scan("DATABASE_URL=postgres://app:Gr3en-Tea!@db.example.com:5432/app"),
                     "password_assignment=Gr3en-Tea!");
        ASSERT_STREQ(scan("'mysql+mysqldb://root:t0pS3cret@10.1.2.3/crm'"), "password_assignment=t0pS3cret");
        ASSERT_STREQ(scan("CELERY_BROKER=redis://:Qx7-cache@cache:6379/1"), "password_assignment=Qx7-cache");
        ASSERT_STREQ(scan("amqp://guest:r4bbit!mq@mq.internal:5672// and mongodb+srv://u:M0ngo.pw@c0.example.net"),
                     "password_assignment=r4bbit!mq | password_assignment=M0ngo.pw");
        ASSERT_STREQ(scan("ftp://deploy:ftpPa55@files.example.com/ https://bot:gh-Tok3n@git.example.com/x.git"),
                     "password_assignment=ftpPa55 | password_assignment=gh-Tok3n");
        /* an '@' inside the password (percent-encoded, decoded by the normaliser) */
        ASSERT_STREQ(scan("postgres://u:p%40ss-w0rd@db/x"), "password_assignment=p%40ss-w0rd");
        /* no password, placeholders, too short */
        ASSERT_STREQ(scan("postgres://reader@db.example.com/x"), "");
        ASSERT_STREQ(scan("postgresql://app:{DB_PASSWORD}@db/app postgres://user:pass@localhost/db"), "");
        ASSERT_STREQ(scan("redis://:${REDIS_PASSWORD}@cache:6379 mysql://root:pw@h/db amqp://u:<password>@mq"), "");
}

TEST(password_command_line) {
        ASSERT_STREQ(scan("curl -u admin:B4sic-Auth http://ci.local/api"), "password_assignment=B4sic-Auth");
        ASSERT_STREQ(scan("curl -s --user 'ops:s3cr3t pw' https://x"), "password_assignment=s3cr3t pw");
        ASSERT_STREQ(scan("/usr/bin/curl --user=ops:Op5-Key9 https://x"), "password_assignment=Op5-Key9");
        ASSERT_STREQ(scan("mysql -h db -u root -pD8!kq2x mydb"), "password_assignment=D8!kq2x");
        ASSERT_STREQ(scan("docker exec db mysqldump -uroot -p'Dump#2024' shop > a.sql"),
                     "password_assignment=Dump#2024");
        ASSERT_STREQ(scan("mariadb -u app -p Ma7iaDB! app"), "password_assignment=Ma7iaDB!");
        ASSERT_STREQ(scan("sshpass -p \"Jump!Host9\" ssh ops@bastion"), "password_assignment=Jump!Host9");
        ASSERT_STREQ(scan("pg_dump --password Pg-Dump77 db"), "password_assignment=Pg-Dump77");
        /* not a password: -u without user:pass, uid:gid, -p of other commands, mysql's prompt, a
         * command of an earlier pipeline stage */
        ASSERT_STREQ(scan("mysql -u root -p -e 'select 1'"), "");
        ASSERT_STREQ(scan("docker run -u 1000:1000 -p 8080:80 nginx; mkdir -p /var/lib/x; ssh -p 2222 host"), "");
        ASSERT_STREQ(scan("curl -u admin https://x"), "");
        ASSERT_STREQ(scan("mysql -e 'show tables' | ssh -p 2222 host"), "");
        ASSERT_STREQ(scan("curl -u \"$USER:$TOKEN\" https://x; sshpass -p $SSHPASS ssh h; ls --password"), "");
        ASSERT_STREQ(scan("cmd --password -v"), "");
}

TEST(password_sql_xml_redis_prose) {
        ASSERT_STREQ(scan("CREATE USER 'bi'@'%' IDENTIFIED BY 'B1-reader';"), "password_assignment=B1-reader");
        ASSERT_STREQ(scan("alter user app identified with mysql_native_password by \"N@tive99\";"),
                     "password_assignment=N@tive99");
        ASSERT_STREQ(scan("CREATE USER scott IDENTIFIED BY Tiger2024;"), "password_assignment=Tiger2024");
        ASSERT_STREQ(scan("ALTER ROLE app WITH PASSWORD 'Pg$ecret1';"), "password_assignment=Pg$ecret1");
        ASSERT_STREQ(scan("<db>\n  <Password>Xml-Pa55 </Password>\n</db>"), "password_assignment=Xml-Pa55");
        ASSERT_STREQ(scan("<passwd>S0ap#pw</passwd> <pwd>1q2w3e4r</pwd>"),
                     "password_assignment=S0ap#pw | password_assignment=1q2w3e4r");
        ASSERT_STREQ(scan("# redis.conf\nrequirepass Re-d1s.pw\n"), "password_assignment=Re-d1s.pw");
        ASSERT_STREQ(scan("CONFIG SET requirepass \"rq!pass42\""), "password_assignment=rq!pass42");
        ASSERT_STREQ(scan("my wifi password is Lotus#2024, can you"), "password_assignment=Lotus#2024");
        ASSERT_STREQ(scan("The old password was autumnLeaf and"), "password_assignment=autumnLeaf");
        ASSERT_STREQ(scan("the password is \"correct horse\""), "password_assignment=correct horse");
        /* prose that is not a password, placeholders, empty elements, a suspect identified by police */
        ASSERT_STREQ(scan("My password is incorrect. The password was Expired! Password is required."), "");
        ASSERT_STREQ(scan("the password is too short; password was reset"), "");
        ASSERT_STREQ(scan("<password></password> <password>${PW}</password> <password>pass</password>"), "");
        ASSERT_STREQ(scan("requirepass foobared"), "");
        ASSERT_STREQ(scan("the suspect was identified by police"), "");
}

TEST(password_code_is_not_a_secret) {
        ASSERT_STREQ(scan("password = getpass.getpass('Password: ')"), "");
        ASSERT_STREQ(scan("db_password=os.environ[\"DB_PASSWORD\"]"), "");
        ASSERT_STREQ(scan("user.password = bcrypt.hashpw(raw.encode(), bcrypt.gensalt())"), "");
        ASSERT_STREQ(scan("connect(host=h, password=password) ; login(pwd=db_pwd)"), "");
        ASSERT_STREQ(scan("password: Optional[str] = None; password = input(\"pw? \")"), "");
        ASSERT_STREQ(scan("check(password); hash(passwd)"), "");
        /* a literal stays a secret, even in code */
        ASSERT_STREQ(scan("connect(password='Lit3ral!')"), "password_assignment=Lit3ral!");
        ASSERT_STREQ(scan("(password=hunter22)"), "password_assignment=hunter22)");
}

TEST(records_and_order) {
        ASSERT_STREQ(scan("手机：13812345678；邮箱：a@example.com；SSN: 123-45-6789。"),
                     "cn_mobile=13812345678 | email=a@example.com | us_ssn=123-45-6789");
        ASSERT_STREQ(scan("order 2024061812345678901234 at 2024-06-18 12:30:45, uuid "
                          "123e4567-e89b-42d3-a456-426614174000, sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                     "");
}

static int stop_at_first(const DetectHit *h, void *userdata) {
        (*(int *) userdata)++;
        return -ECANCELED;
}

TEST(callback_stops_the_scan) {
        const char *text = "a@example.com b@example.com";
        int calls = 0;

        ASSERT_ERROR(detect_scan(text, strlen(text), stop_at_first, &calls), -ECANCELED);
        ASSERT_EQ(calls, 1);
}

TEST(offsets_are_normalised_text_offsets) {
        NormText t = { .want_map = true };
        const char *raw = "ID \xef\xbc\x91" "1010519491231002X!";
        Collect c = { .t = &t, .raw = raw };

        ASSERT_OK(normalize_text(&t, raw, strlen(raw)));
        ASSERT_OK(detect_scan(t.buf, t.len, collect, &c));
        ASSERT_STREQ(c.out, "cn_resident_id=\xef\xbc\x91" "1010519491231002X");
        ASSERT_UEQ(t.map[3], 3);
        ASSERT_UEQ(t.map[4], 6);
        normtext_done(&t);
}

TEST(unterminated_input_is_not_read_past) {
        /* a buffer exactly as long as the text: every detector stops at len */
        static const char *const texts[] = { "11010519491231002", "-----BEGIN RSA PRIVATE KEY---", "AKIAIOSFODNN7EXAM",
                                             "eyJhbGciOiJIUzI1NiJ9.e", "password=", "\xe5\xaf\x86\xe7\xa0", "DE89 3704",
                                             "a@b.", "1-", "x://a:b@", "IDENTIF", "IDENTIFIED BY", "curl -u",
                                             "mysql -p", "<password>ab", "password is", "requirepass", "%4" };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                size_t n = strlen(texts[i]);
                _cleanup_free_ char *copy = malloc(n);

                ASSERT_NOT_NULL(copy);
                memcpy(copy, texts[i], n);
                ASSERT_OK(detect_scan(copy, n, NULL, NULL));
        }
}
