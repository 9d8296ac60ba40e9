/* lists_gen.c — rows for the lists and search benchmark, as COPY text.
 *
 *   lists_gen TABLE NOW TICKETS MESSAGES [PART PARTS]
 *
 * TABLE is customers, identities, tickets, messages or targets (the
 * columns of each are the first line of its output, for COPY's column
 * list, prefixed "#"); NOW the epoch second the data ends at; TICKETS and
 * MESSAGES the sizes (messages is a mean per ticket times TICKETS, so the
 * total is close to it, not equal). PART of PARTS (0-based) writes every
 * PARTS-th ticket's rows only, so that several COPYs load one table at
 * once.
 *
 * Every value derives from a hash of (table, row, field): the same
 * arguments give the same rows, and a ticket's customer, messages and
 * targets agree without any state shared between runs. What it shapes:
 * two years of tickets, newest still open (statuses by age), skewed
 * teams, channels, priorities and categories; 200 agents in 7 teams;
 * customers with Zipf-like ticket counts, segments, phones, e-mails and
 * Zalo handles; 0-3 tags; 2..2m-2 messages per ticket (contacts, replies,
 * internal notes) in Vietnamese (a third typed without diacritics) or
 * English, with order codes unique to the ticket, product models,
 * cities and names; for open tickets a running resolution target, and
 * for half of them a running next-response target too.
 * Built by tests/bench/60-lists.part.sh with the system compiler.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPAN_S (730LL * 86400)
#define NAGENTS 200
#define NTEAMS 7

static int64_t now_s;
static long ntickets, ncustomers;
static double mean_msgs;

/* --- hashing ---------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t h3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix(mix(mix(a) ^ b) ^ c);
}

/* Uniform in [0, 1). */
static double unit(uint64_t h)
{
    return (double)(h >> 11) / 9007199254740992.0;
}

/* An index into weights[0..n) drawn with u in [0, 1). */
static int pick(const int *w, int n, double u)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    double x = u * total;
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

enum { T_CUST = 1, T_TICK, T_MSG, T_IDENT };

static void put_uuid(uint64_t kind, uint64_t i, uint64_t j)
{
    uint64_t a = h3(kind, i, j), b = h3(kind + 100, i, j);
    printf("%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32,
           (a >> 16) & 0xffff, a & 0xfff, (uint64_t)(0x8000 | ((b >> 48) & 0x3fff)), (uint64_t)(b & 0xffffffffffffULL));
}

static void put_time(int64_t us)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    printf("%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

/* --- vocabulary ------------------------------------------------------------------- */

static const char *const teams[NTEAMS] = {"support", "technical", "complaints", "returns-warranty",
                                          "loyalty", "account-management", "sales"};
static const char *const categories[] = {"technical_support", "complaint", "product_info",
                                         "returns_warranty", "billing", "sales", "account",
                                         "other"};
static const int category_w[] = {20, 15, 15, 15, 12, 10, 11, 2};
static const int category_team[] = {1, 2, 0, 3, 5, 6, 5, 0};
static const char *const channels[] = {"zalo", "facebook", "phone", "email", "chat", "sms",
                                       "whatsapp", "instagram", "helpcenter", "tiktok",
                                       "twitter", "store"};
static const int channel_w[] = {25, 18, 14, 12, 10, 5, 4, 4, 4, 2, 1, 1};
static const char *const priorities[] = {"low", "normal", "high", "urgent"};
static const int priority_w[] = {10, 55, 28, 7};
static const int target_secs[] = {72 * 3600, 24 * 3600, 8 * 3600, 4 * 3600};
static const char *const tags[] = {
    "callback",    "refund",     "delivery-delay", "warranty",    "vip-followup", "hotline",
    "fraud-check", "escalated",  "feedback",       "bug",         "duplicate",    "promo",
    "cod",         "installment", "out-of-stock",  "wrong-item",  "damaged",      "invoice",
    "otp",         "password",   "b2b",            "loyalty-card", "survey-low",   "press",
    "legal",       "repeat",     "north",          "south",       "central",      "night-shift"};
#define NTAGS (int)(sizeof tags / sizeof tags[0])

static const char *const family[] = {"Nguyễn", "Trần", "Lê",  "Phạm", "Hoàng", "Huỳnh", "Phan",
                                     "Vũ",     "Võ",   "Đặng", "Bùi",  "Đỗ",    "Hồ",    "Ngô",
                                     "Dương",  "Lý"};
static const int family_w[] = {38, 11, 9, 7, 3, 2, 4, 2, 2, 2, 2, 2, 1, 1, 1, 1};
static const char *const middle[] = {"Văn",  "Thị",   "Hữu", "Đức", "Minh", "Thanh",
                                     "Ngọc", "Thu",   "Quang", "Hoàng", "Kim", "Bảo"};
static const char *const given[] = {
    "An",   "Anh",   "Bình", "Châu", "Dũng", "Hà",    "Hải",   "Hạnh",  "Hiếu", "Hoa",
    "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long",  "Mai",   "Minh",  "Nam",  "Ngọc",
    "Nhung", "Phong", "Phương", "Quân", "Quỳnh", "Sơn", "Tâm",  "Thảo",  "Thắng", "Trang",
    "Trung", "Tú",   "Tuấn", "Vân",  "Vy",   "Yến",  "Đạt",   "Huy",   "Khoa", "Thủy"};
static const char *const en_first[] = {"John", "Emma", "David", "Sarah", "Michael", "Anna",
                                       "James", "Laura", "Peter", "Kim"};
static const char *const en_last[] = {"Smith", "Brown", "Wilson", "Taylor", "Lee",
                                      "Walker", "Clarke", "Young"};
static const char *const cities[] = {
    "Hà Nội",   "Hồ Chí Minh", "Đà Nẵng",  "Hải Phòng", "Cần Thơ",   "Nha Trang", "Huế",
    "Biên Hòa", "Vũng Tàu",    "Buôn Ma Thuột", "Quy Nhơn", "Thái Nguyên", "Nam Định",
    "Vinh",     "Đà Lạt",      "Long Xuyên", "Rạch Giá", "Bắc Ninh", "Hạ Long", "Phan Thiết"};
static const char *const products_vi[] = {
    "máy giặt Electrolux EWF9024",  "tủ lạnh Samsung RT38",     "điện thoại Galaxy A54",
    "nồi cơm điện Sharp KS18",      "máy lọc nước Kangaroo KG100", "laptop Asus Vivobook 15",
    "tivi Sony Bravia KD55",        "điều hòa Daikin FTKB25",   "quạt điều hòa Sunhouse SHD7721",
    "máy hút bụi Xiaomi G10",       "bàn là Philips GC1905",    "lò vi sóng Sanyo EMS2",
    "máy sấy tóc Panasonic EH-ND65", "tai nghe AirPods Pro",     "đồng hồ Apple Watch S9",
    "máy pha cà phê Delonghi EC685", "bếp từ Bosch PUC631",      "loa JBL Flip 6",
    "máy tính bảng iPad Air 5",     "robot hút bụi Ecovacs T20", "bình nóng lạnh Ariston AN2",
    "nồi chiên không dầu Lock&Lock EJF357", "xe máy điện VinFast Evo200", "camera Ezviz C6N",
    "router Wifi TP-Link Archer C6", "máy in Canon LBP2900",    "điện thoại iPhone 15",
    "máy xay sinh tố Philips HR2221", "chăn ga Everon EP23",    "sữa bột Similac IQ4"};
#define NPRODUCTS (int)(sizeof products_vi / sizeof products_vi[0])
static const char *const products_en[NPRODUCTS] = {
    "Electrolux EWF9024 washing machine", "Samsung RT38 fridge", "Galaxy A54 phone",
    "Sharp KS18 rice cooker",       "Kangaroo KG100 water purifier", "Asus Vivobook 15 laptop",
    "Sony Bravia KD55 TV",          "Daikin FTKB25 air conditioner", "Sunhouse SHD7721 air cooler",
    "Xiaomi G10 vacuum",            "Philips GC1905 iron",      "Sanyo EMS2 microwave",
    "Panasonic EH-ND65 hair dryer", "AirPods Pro headphones",   "Apple Watch S9",
    "Delonghi EC685 coffee machine", "Bosch PUC631 induction hob", "JBL Flip 6 speaker",
    "iPad Air 5 tablet",            "Ecovacs T20 robot vacuum", "Ariston AN2 water heater",
    "Lock&Lock EJF357 air fryer",   "VinFast Evo200 scooter",   "Ezviz C6N camera",
    "TP-Link Archer C6 router",     "Canon LBP2900 printer",    "iPhone 15",
    "Philips HR2221 blender",       "Everon EP23 bedding set",  "Similac IQ4 formula"};

static const char *const vi_in[] = {
    "Chào shop, tôi đặt đơn hàng {O} từ {N} ngày trước mà vẫn chưa nhận được hàng.",
    "Sản phẩm {P} tôi mua bị lỗi, không hoạt động, tôi muốn đổi trả hoặc bảo hành.",
    "Tôi muốn khiếu nại về thái độ của nhân viên giao hàng ở {C}.",
    "Cho tôi hỏi {P} còn hàng không, giá bao nhiêu vậy?",
    "Tài khoản của tôi bị khóa, không đăng nhập được, mã OTP không về.",
    "Tôi bị trừ tiền hai lần cho đơn {O}, đề nghị hoàn tiền gấp.",
    "Giao hàng chậm quá, đã {N} ngày rồi mà chưa thấy đâu, rất không hài lòng.",
    "{P} nhà tôi không lên nguồn, cần kỹ thuật viên đến kiểm tra tại {C}.",
    "Tôi muốn mua sỉ {N} thùng {P}, có chiết khấu cho đại lý không?",
    "Hóa đơn tháng này tính sai tiền, phí vận chuyển bị tính hai lần.",
    "Em ơi kiểm tra giúp chị đơn {O} với, chị cần gấp trước thứ bảy.",
    "Hàng giao nhầm màu, tôi đặt màu đen mà nhận màu trắng, đổi giúp tôi.",
    "Cảm ơn em, chị nhận được hàng rồi nhé.",
    "Vẫn chưa được xử lý, tôi sẽ khiếu nại lên tổng đài nếu mai không có phản hồi.",
    "Máy bị kêu to khi vắt, dùng được {N} tháng thì hỏng, còn bảo hành không?",
    "Tôi đổi địa chỉ nhận hàng sang {C} được không, đơn {O}.",
    "Khuyến mãi trên trang ghi giảm 20% mà thanh toán vẫn giá cũ, giải thích giúp tôi."};
static const char *const vi_out[] = {
    "Dạ chào anh chị {M}, em đã kiểm tra đơn hàng {O}, đơn đang được giao tại {C}, dự kiến {N} "
    "ngày nữa anh chị nhận được ạ.",
    "Dạ em xin lỗi anh chị vì sự bất tiện, em đã chuyển yêu cầu hoàn tiền cho bộ phận kế toán, "
    "tiền sẽ về trong 3 đến 5 ngày làm việc.",
    "Dạ sản phẩm {P} vẫn còn hàng ạ, giá hiện tại là {N}90.000 đồng, đang có khuyến mãi giảm 10%.",
    "Dạ em đã tạo phiếu bảo hành số BH{T} cho {P}, kỹ thuật viên sẽ liên hệ anh chị trong 24 giờ.",
    "Dạ em đã mở khóa tài khoản, anh chị vui lòng đăng nhập lại và đổi mật khẩu giúp em ạ.",
    "Cảm ơn anh chị {M} đã phản hồi, em đã ghi nhận khiếu nại và chuyển cho trưởng nhóm xử lý.",
    "Dạ anh chị vui lòng gửi giúp em ảnh chụp sản phẩm và hóa đơn mua hàng để em kiểm tra ạ."};
static const char *const vi_note[] = {
    "Đã gọi lại cho khách, khách hẹn nhận hàng vào thứ {N}.",
    "Khách VIP, ưu tiên xử lý trong ngày. Đã báo trưởng ca.",
    "Kiểm tra kho {C}: {P} hết hàng, chờ nhập thêm.",
    "Khách yêu cầu hoàn tiền đơn {O}, đã gửi kế toán duyệt.",
    "Khách nóng tính, cần trưởng nhóm gọi lại trước 17 giờ."};
static const char *const en_in[] = {
    "Hi, I ordered {O} {N} days ago and it still has not arrived.",
    "My {P} stopped working after a week, I would like a replacement under warranty.",
    "I was charged twice for order {O}, please refund the duplicate payment.",
    "I cannot log in to my account, the verification code never arrives.",
    "Is the {P} in stock? What is the price for {N} units?",
    "The delivery driver was rude and left the package outside in the rain.",
    "Thanks, I received the refund.",
    "Still waiting for an answer about {O}, this is unacceptable."};
static const char *const en_out[] = {
    "Hi {M}, thanks for reaching out. I checked order {O}: it is on its way to {C} and should "
    "arrive within {N} days.",
    "Sorry for the trouble, I have issued a refund for the duplicate charge; it takes 3 to 5 "
    "business days.",
    "I have opened warranty case BH{T} for your {P}; a technician will call you within 24 hours.",
    "Your account is unlocked now, please sign in again and change your password."};
static const char *const en_note[] = {"Called the customer back, no answer. Will retry tomorrow.",
                                      "Escalated to the logistics team for order {O}.",
                                      "Customer asked for a manager, passed to the team lead."};
static const char *const vi_subject[] = {"Khiếu nại đơn hàng {O}", "Yêu cầu bảo hành {P}",
                                         "Hỏi về sản phẩm {P}", "Hoàn tiền đơn {O}",
                                         "Không đăng nhập được tài khoản"};
static const char *const en_subject[] = {"Complaint about order {O}", "Warranty claim: {P}",
                                         "Question about {P}", "Refund for order {O}",
                                         "Cannot sign in"};
#define N_(a) (int)(sizeof a / sizeof a[0])

/* --- diacritics ------------------------------------------------------------------- */

/* Each group: accented letters, then the letter they are typed as. */
static const char *const accents[][2] = {
    {"àáạảãâầấậẩẫăằắặẳẵ", "a"}, {"ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ", "A"}, {"èéẹẻẽêềếệểễ", "e"},
    {"ÈÉẸẺẼÊỀẾỆỂỄ", "E"},       {"ìíịỉĩ", "i"},             {"ÌÍỊỈĨ", "I"},
    {"òóọỏõôồốộổỗơờớợởỡ", "o"}, {"ÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ", "O"}, {"ùúụủũưừứựửữ", "u"},
    {"ÙÚỤỦŨƯỪỨỰỬỮ", "U"},       {"ỳýỵỷỹ", "y"},             {"ỲÝỴỶỸ", "Y"},
    {"đ", "d"},                 {"Đ", "D"}};

static unsigned decode(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned c = *s++;
    if (c >= 0xe0) {
        c = ((c & 0x0f) << 12) | ((unsigned)(s[0] & 0x3f) << 6) | (s[1] & 0x3f);
        s += 2;
    } else if (c >= 0xc0) {
        c = ((c & 0x1f) << 6) | (s[0] & 0x3f);
        s += 1;
    }
    *p = s;
    return c;
}

static char plain_of[0x2000];

static void accents_init(void)
{
    for (size_t g = 0; g < sizeof accents / sizeof accents[0]; g++) {
        const unsigned char *p = (const unsigned char *)accents[g][0];
        while (*p) {
            unsigned c = decode(&p);
            if (c < sizeof plain_of)
                plain_of[c] = accents[g][1][0];
        }
    }
}

/* s without its Vietnamese diacritics, in place (never longer). */
static void strip(char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *o = s;
    while (*p) {
        const unsigned char *start = p;
        unsigned c = decode(&p);
        if (c < sizeof plain_of && plain_of[c])
            *o++ = plain_of[c];
        else
            while (start < p)
                *o++ = (char)*start++;
    }
    *o = '\0';
}

/* --- composing -------------------------------------------------------------------- */

struct ctx {
    long ticket;
    const char *product, *city, *name;
    int n;
};

/* Appends template t with its slots filled to out (bounded). */
static void fill(char *out, size_t cap, const char *t, const struct ctx *x)
{
    size_t len = strlen(out);
    for (const char *p = t; *p && len + 64 < cap; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            char v[160];
            switch (p[1]) {
            case 'O':
                snprintf(v, sizeof v, "DH%07ld", 1000000 + x->ticket);
                break;
            case 'T':
                snprintf(v, sizeof v, "%06ld", x->ticket % 1000000);
                break;
            case 'N':
                snprintf(v, sizeof v, "%d", x->n);
                break;
            case 'P':
                snprintf(v, sizeof v, "%s", x->product);
                break;
            case 'C':
                snprintf(v, sizeof v, "%s", x->city);
                break;
            default:
                snprintf(v, sizeof v, "%s", x->name);
            }
            size_t vl = strlen(v);
            if (len + vl + 1 >= cap)
                break;
            memcpy(out + len, v, vl);
            len += vl;
            p += 2;
        } else {
            out[len++] = *p;
        }
    }
    out[len] = '\0';
}

/* --- rows ------------------------------------------------------------------------- */

struct ticket {
    long i;
    long cust;
    int64_t created_us, updated_us, closed_us;
    int status; /* 0 open, 1 pending, 2 solved, 3 closed */
    int prio, cat, team, chan, agent, lang, plain, nmsgs, product, city;
};

static const char *const statuses[] = {"open", "pending", "solved", "closed"};

static void ticket_make(long i, struct ticket *t)
{
    memset(t, 0, sizeof *t);
    t->i = i;
    double u = unit(h3(T_TICK, (uint64_t)i, 1));
    t->created_us = (now_s - SPAN_S) * 1000000LL +
                    (int64_t)(((double)i + u) * ((double)SPAN_S * 1e6 / (double)ntickets));
    double age_d = (double)(now_s * 1000000LL - t->created_us) / 86400e6;
    /* Statuses by age: the newest are mostly still being worked. */
    static const int w0[] = {55, 20, 20, 5}, w1[] = {20, 15, 40, 25}, w2[] = {2, 1, 12, 85},
                     w3[] = {1, 1, 4, 994};
    const int *w = age_d < 3 ? w0 : age_d < 21 ? w1 : age_d < 90 ? w2 : w3;
    t->status = pick(w, 4, unit(h3(T_TICK, (uint64_t)i, 2)));
    t->prio = pick(priority_w, 4, unit(h3(T_TICK, (uint64_t)i, 3)));
    t->cat = pick(category_w, N_(category_w), unit(h3(T_TICK, (uint64_t)i, 4)));
    t->team = unit(h3(T_TICK, (uint64_t)i, 5)) < 0.1 ? (int)(h3(T_TICK, (uint64_t)i, 6) % NTEAMS)
                                                      : category_team[t->cat];
    t->chan = pick(channel_w, N_(channel_w), unit(h3(T_TICK, (uint64_t)i, 7)));
    /* An agent of the team (agent a is in team a % NTEAMS); a quarter of
     * the open tickets wait unassigned. */
    t->agent = (int)(h3(T_TICK, (uint64_t)i, 8) % (NAGENTS / NTEAMS)) * NTEAMS + t->team;
    if (t->agent >= NAGENTS || (t->status == 0 && unit(h3(T_TICK, (uint64_t)i, 9)) < 0.25))
        t->agent = -1;
    double cu = unit(h3(T_TICK, (uint64_t)i, 10));
    t->cust = (long)((double)ncustomers * cu * cu);
    uint64_t lh = h3(T_CUST, (uint64_t)t->cust, 50);
    t->lang = unit(lh) < 0.25;                           /* 1: English */
    t->plain = !t->lang && unit(mix(lh)) < 0.33;         /* Vietnamese without diacritics */
    int maxm = (int)(2 * mean_msgs) - 3;
    t->nmsgs = 2 + (int)(h3(T_TICK, (uint64_t)i, 11) % (uint64_t)(maxm > 1 ? maxm : 1));
    t->product = (int)(h3(T_TICK, (uint64_t)i, 12) % NPRODUCTS);
    t->city = (int)(h3(T_TICK, (uint64_t)i, 13) % N_(cities));
    int64_t life = (int64_t)((age_d < 3 ? age_d : 3) * 86400e6);
    t->updated_us = t->created_us + life * (t->nmsgs - 1) / t->nmsgs + 1;
    if (t->updated_us > now_s * 1000000LL)
        t->updated_us = now_s * 1000000LL;
    t->closed_us = t->status >= 2 ? t->updated_us : 0;
}

static void cust_name(long c, char *out, size_t n)
{
    uint64_t h = h3(T_CUST, (uint64_t)c, 1);
    if (unit(h3(T_CUST, (uint64_t)c, 50)) < 0.25)
        snprintf(out, n, "%s %s", en_first[h % N_(en_first)], en_last[(h >> 8) % N_(en_last)]);
    else
        snprintf(out, n, "%s %s %s", family[pick(family_w, N_(family_w), unit(h))],
                 middle[(h >> 20) % N_(middle)], given[(h >> 28) % N_(given)]);
}

static void out_text(const char *s)
{
    if (!s) {
        fputs("\\N", stdout);
        return;
    }
    for (; *s; s++) {
        if (*s == '\\' || *s == '\t' || *s == '\n')
            putchar('\\');
        putchar(*s);
    }
}

static void agent_id(int a)
{
    printf("agent-%03d", a + 1);
}

static void row_customer(long c)
{
    char name[128];
    cust_name(c, name, sizeof name);
    static const int seg_w[] = {90, 3, 7};
    static const char *const segs[] = {"regular", "vip", "wholesale"};
    int64_t created = (now_s - SPAN_S - 86400 * 30) * 1000000LL +
                      (int64_t)(unit(h3(T_CUST, (uint64_t)c, 2)) * (double)SPAN_S * 1e6);
    put_uuid(T_CUST, (uint64_t)c, 0);
    putchar('\t');
    out_text(name);
    printf("\t%s\t%s\t{}\t\\N\t\\N\t", segs[pick(seg_w, 3, unit(h3(T_CUST, (uint64_t)c, 3)))],
           unit(h3(T_CUST, (uint64_t)c, 4)) < 0.03 ? "churned" : "active");
    put_time(created);
    putchar('\t');
    put_time(created);
    putchar('\n');
}

static void row_identities(long c)
{
    static const char *const pfx[] = {"90", "91", "93", "97", "98", "32", "35", "38", "70", "77",
                                      "79", "81", "83", "85", "86", "88"};
    int64_t created = (now_s - SPAN_S) * 1000000LL;
    if (unit(h3(T_IDENT, (uint64_t)c, 1)) < 0.9) {
        printf("phone\t+84%s%07ld\t", pfx[h3(T_IDENT, (uint64_t)c, 2) % N_(pfx)], c);
        put_uuid(T_CUST, (uint64_t)c, 0);
        putchar('\t');
        put_time(created);
        putchar('\n');
    }
    if (unit(h3(T_IDENT, (uint64_t)c, 3)) < 0.4) {
        char name[128];
        cust_name(c, name, sizeof name);
        strip(name);
        char mail[160];
        size_t k = 0;
        for (char *p = name; *p && k < 60; p++)
            if (*p != ' ')
                mail[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        snprintf(mail + k, sizeof mail - k, ".%ld@%s", c,
                 (h3(T_IDENT, (uint64_t)c, 4) & 1) ? "gmail.com" : "yahoo.com.vn");
        printf("email\t%s\t", mail);
        put_uuid(T_CUST, (uint64_t)c, 0);
        putchar('\t');
        put_time(created);
        putchar('\n');
    }
    if (unit(h3(T_IDENT, (uint64_t)c, 5)) < 0.3) {
        printf("zalo\tzalo-%ld\t", c);
        put_uuid(T_CUST, (uint64_t)c, 0);
        putchar('\t');
        put_time(created);
        putchar('\n');
    }
}

static void subject_of(const struct ticket *t, char *out, size_t n)
{
    out[0] = '\0';
    struct ctx x = {t->i, t->lang ? products_en[t->product] : products_vi[t->product],
                    cities[t->city], "", 3};
    const char *tpl = t->lang ? en_subject[t->i % N_(en_subject)] : vi_subject[t->i % N_(vi_subject)];
    fill(out, n, tpl, &x);
    if (t->plain)
        strip(out);
}

static int has_subject(const struct ticket *t)
{
    return !strcmp(channels[t->chan], "email") || !strcmp(channels[t->chan], "helpcenter");
}

static void row_ticket(long i)
{
    struct ticket t;
    ticket_make(i, &t);
    char subject[256];
    subject_of(&t, subject, sizeof subject);
    put_uuid(T_TICK, (uint64_t)i, 0);
    putchar('\t');
    put_uuid(T_CUST, (uint64_t)t.cust, 0);
    printf("\t%s\t%s\t\\N\t\\N\t%s\t%d\t{}\t%s\t", statuses[t.status], categories[t.cat],
           priorities[t.prio], t.prio + 1, teams[t.team]);
    if (t.agent >= 0)
        agent_id(t.agent);
    else
        fputs("\\N", stdout);
    printf("\t%s\t", channels[t.chan]);
    out_text(has_subject(&t) ? subject : NULL);
    putchar('\t');
    put_uuid(T_MSG, (uint64_t)i, 0); /* opened_event_id: the first message */
    printf("\t%d\t\\N\t0\t0\t\\N\t", (t.nmsgs + 1) / 2);
    put_time(t.created_us);
    putchar('\t');
    put_time(t.updated_us);
    putchar('\t');
    if (t.agent >= 0)
        put_time(t.created_us + 60000000);
    else
        fputs("\\N", stdout);
    putchar('\t');
    if (t.status == 0 && t.agent < 0)
        put_time(t.created_us);
    else
        fputs("\\N", stdout);
    putchar('\t');
    if (t.status >= 2)
        put_time(t.closed_us);
    else
        fputs("\\N", stdout);
    putchar('\t');
    if (t.status == 3)
        put_time(t.closed_us + 1000000);
    else
        fputs("\\N", stdout);
    printf("\t\\N\t{");
    int ntag = pick((const int[]){50, 30, 15, 5}, 4, unit(h3(T_TICK, (uint64_t)i, 20)));
    int used[3] = {-1, -1, -1};
    for (int k = 0, n = 0; k < ntag; k++) {
        double tu = unit(h3(T_TICK, (uint64_t)i, 21 + (uint64_t)k));
        int tg = (int)((double)NTAGS * tu * tu);
        if (tg == used[0] || tg == used[1])
            continue;
        used[n] = tg;
        printf("%s%s", n++ ? "," : "", tags[tg]);
    }
    printf("}\n");
}

static void row_messages(long i)
{
    struct ticket t;
    ticket_make(i, &t);
    char name[128], subject[256];
    cust_name(t.cust, name, sizeof name);
    const char *given_name = strrchr(name, ' ') ? strrchr(name, ' ') + 1 : name;
    subject_of(&t, subject, sizeof subject);
    for (int j = 0; j < t.nmsgs; j++) {
        uint64_t h = h3(T_MSG, (uint64_t)i, (uint64_t)j + 1);
        /* Contacts and replies alternate; one in ten after the first is a note. */
        const char *dir = j == 0 ? "in" : unit(h) < 0.1 ? "note" : (j % 2) ? "out" : "in";
        const char *const *tpl;
        int ntpl;
        if (!strcmp(dir, "in")) {
            tpl = t.lang ? en_in : vi_in;
            ntpl = t.lang ? N_(en_in) : N_(vi_in);
        } else if (!strcmp(dir, "out")) {
            tpl = t.lang ? en_out : vi_out;
            ntpl = t.lang ? N_(en_out) : N_(vi_out);
        } else {
            tpl = t.lang ? en_note : vi_note;
            ntpl = t.lang ? N_(en_note) : N_(vi_note);
        }
        char text[1024] = "";
        int sentences = 1 + (int)((h >> 8) % 3);
        for (int s = 0; s < sentences; s++) {
            uint64_t hs = h3(T_MSG, h, (uint64_t)s);
            /* The ticket's own product mostly, another one sometimes. */
            int prod = unit(hs) < 0.8 ? t.product : (int)((hs >> 16) % NPRODUCTS);
            struct ctx x = {i, t.lang ? products_en[prod] : products_vi[prod], cities[t.city],
                            given_name, 2 + (int)((hs >> 40) % 12)};
            if (s)
                strcat(text, " ");
            fill(text, sizeof text, tpl[(hs >> 24) % (uint64_t)ntpl], &x);
        }
        /* Customers type without diacritics; agents write them. */
        if (t.plain && strcmp(dir, "in") == 0)
            strip(text);
        int64_t life = t.updated_us - t.created_us;
        int64_t at = t.created_us + (t.nmsgs > 1 ? life * j / (t.nmsgs - 1) : 0);
        put_uuid(T_MSG, (uint64_t)i, (uint64_t)j);
        putchar('\t');
        put_uuid(T_TICK, (uint64_t)i, 0);
        putchar('\t');
        put_uuid(T_CUST, (uint64_t)t.cust, 0);
        printf("\t%s\t%s\t", channels[t.chan], dir);
        if (!strcmp(dir, "in"))
            printf("ext-%ld-%d", i, j);
        else
            fputs("\\N", stdout);
        putchar('\t');
        out_text(j == 0 && has_subject(&t) ? subject : NULL);
        putchar('\t');
        out_text(text);
        putchar('\t');
        if (strcmp(dir, "in") != 0)
            agent_id(t.agent >= 0 ? t.agent : (int)(h % NAGENTS));
        else
            fputs("\\N", stdout);
        putchar('\t');
        put_time(at);
        printf("\tingest\t%ld\n", i * 64 + j + 1);
    }
}

/* One running target of ticket i: from start, due after secs (calendar
 * seconds), warning at 80%; warned, breached and its next timer as
 * sla-monitor would have left them at now. */
static void put_target(long i, const char *target, int prio, int64_t start_us, int64_t secs)
{
    int64_t due = start_us + secs * 1000000LL, warn = start_us + secs * 800000LL;
    int64_t now_us = now_s * 1000000LL;
    put_uuid(T_TICK, (uint64_t)i, 0);
    printf("\t%s\t0\trunning\tregular\tvn-business\t%s\tregular\t%" PRId64 "\t", target,
           priorities[prio], secs);
    put_time(start_us);
    putchar('\t');
    put_time(due);
    putchar('\t');
    put_time(warn);
    printf("\t\\N\t\\N\t\\N\t%s\t%s\t", warn <= now_us ? "t" : "f", due <= now_us ? "t" : "f");
    if (due > now_us)
        put_time(warn > now_us ? warn : due);
    else
        fputs("\\N", stdout);
    putchar('\n');
}

/* Open tickets: the resolution running; every other one also waits for an
 * answer (next_response running since its last message, a fifth of the
 * resolution's time), as a desk's tickets do, two running targets each. */
static void row_targets(long i)
{
    struct ticket t;
    ticket_make(i, &t);
    if (t.status != 0)
        return;
    int64_t secs = target_secs[t.prio];
    put_target(i, "resolution", t.prio, t.created_us, secs);
    if (h3(T_TICK, (uint64_t)i, 29) % 2)
        put_target(i, "next_response", t.prio, t.updated_us, secs / 5);
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: lists_gen TABLE NOW TICKETS MESSAGES [PART PARTS]\n");
        return 2;
    }
    const char *table = argv[1];
    now_s = strtoll(argv[2], NULL, 10);
    ntickets = strtol(argv[3], NULL, 10);
    long nmessages = strtol(argv[4], NULL, 10);
    long part = argc == 7 ? strtol(argv[5], NULL, 10) : 0;
    long parts = argc == 7 ? strtol(argv[6], NULL, 10) : 1;
    if (now_s <= 0 || ntickets < 1 || nmessages < ntickets * 2 || parts < 1 || part < 0 ||
        part >= parts) {
        fprintf(stderr, "lists_gen: bad arguments (messages must be at least twice tickets)\n");
        return 2;
    }
    ncustomers = ntickets * 3 / 10 + 1;
    mean_msgs = (double)nmessages / (double)ntickets;
    accents_init();
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (!strcmp(table, "customers")) {
        puts("#id,name,segment,status,attributes,merged_into,merged_at,created_at,updated_at");
        for (long c = part; c < ncustomers; c += parts)
            row_customer(c);
    } else if (!strcmp(table, "identities")) {
        puts("#kind,value,customer_id,created_at");
        for (long c = part; c < ncustomers; c += parts)
            row_identities(c);
    } else if (!strcmp(table, "tickets")) {
        puts("#id,customer_id,status,category,category_rule,category_phrase,priority,"
             "priority_rank,priority_reasons,team,assignee,channel,subject,opened_event_id,"
             "contacts,urgent_word,escalated_rank,reopened,merged_into,created_at,updated_at,"
             "assigned_at,queued_at,solved_at,closed_at,escalated_at,tags");
        for (long i = part; i < ntickets; i += parts)
            row_ticket(i);
    } else if (!strcmp(table, "messages")) {
        puts("#event_id,ticket_id,customer_id,channel,direction,external_id,subject,text,"
             "agent_id,at,stream,seq");
        for (long i = part; i < ntickets; i += parts)
            row_messages(i);
    } else if (!strcmp(table, "targets")) {
        puts("#ticket_id,target,cycle,status,policy_id,calendar_id,priority,segment,target_secs,"
             "started_at,due_at,warn_at,achieved_at,cancelled_at,remaining_business_secs,warned,"
             "breached,next_fire_at");
        for (long i = part; i < ntickets; i += parts)
            row_targets(i);
    } else {
        fprintf(stderr, "lists_gen: unknown table \"%s\"\n", table);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
