/* label.c — the labels of the enum values (see label.h).
 *
 * Keyed by the derived spellings ("channel", "zalo"), not by C constants, so
 * that a line here reads like the API and a value added to the proto needs
 * only its line here. Labels are short: they name a chart's series, a
 * legend entry or a column.
 */
#include "label.h"

#include <string.h>

static const struct label_entry {
    const char *enum_key, *name;
    const char *text[LABEL_NLANGS]; /* vi, en */
} label_table[] = {
    {"channel", "phone", {"Điện thoại", "Phone"}},
    {"channel", "email", {"Email", "Email"}},
    {"channel", "chat", {"Chat trực tuyến", "Live chat"}},
    {"channel", "facebook", {"Facebook", "Facebook"}},
    {"channel", "zalo", {"Zalo", "Zalo"}},
    {"channel", "instagram", {"Instagram", "Instagram"}},
    {"channel", "tiktok", {"TikTok", "TikTok"}},
    {"channel", "twitter", {"X (Twitter)", "X (Twitter)"}},
    {"channel", "sms", {"SMS", "SMS"}},
    {"channel", "whatsapp", {"WhatsApp", "WhatsApp"}},
    {"channel", "helpcenter", {"Trung tâm trợ giúp", "Help centre"}},
    {"channel", "store", {"Cửa hàng", "Store"}},

    {"segment", "regular", {"Khách hàng thường", "Regular"}},
    {"segment", "vip", {"Khách hàng VIP", "VIP"}},
    {"segment", "wholesale", {"Khách hàng sỉ", "Wholesale"}},

    {"customer_status", "active", {"Đang hoạt động", "Active"}},
    {"customer_status", "churned", {"Đã rời bỏ", "Churned"}},

    {"ticket_status", "open", {"Đang mở", "Open"}},
    {"ticket_status", "pending", {"Chờ khách hàng", "Pending on the customer"}},
    {"ticket_status", "solved", {"Đã giải quyết", "Solved"}},
    {"ticket_status", "closed", {"Đã đóng", "Closed"}},

    {"category", "technical_support", {"Hỗ trợ kỹ thuật", "Technical support"}},
    {"category", "complaint", {"Khiếu nại", "Complaint"}},
    {"category", "product_info", {"Thông tin sản phẩm", "Product information"}},
    {"category", "returns_warranty", {"Đổi trả và bảo hành", "Returns and warranty"}},
    {"category", "billing", {"Thanh toán", "Billing"}},
    {"category", "sales", {"Bán hàng", "Sales"}},
    {"category", "account", {"Tài khoản", "Account"}},
    {"category", "other", {"Khác", "Other"}},

    {"priority", "low", {"Thấp", "Low"}},
    {"priority", "normal", {"Bình thường", "Normal"}},
    {"priority", "high", {"Cao", "High"}},
    {"priority", "urgent", {"Khẩn cấp", "Urgent"}},

    {"presence", "online", {"Trực tuyến", "Online"}},
    {"presence", "away", {"Tạm vắng", "Away"}},
    {"presence", "offline", {"Ngoại tuyến", "Offline"}},

    {"sla_target", "first_response", {"Phản hồi đầu tiên", "First response"}},
    {"sla_target", "next_response", {"Phản hồi tiếp theo", "Next response"}},
    {"sla_target", "resolution", {"Giải quyết", "Resolution"}},

    {"call_outcome", "answered", {"Đã nghe máy", "Answered"}},
    {"call_outcome", "missed", {"Cuộc gọi nhỡ", "Missed"}},
    {"call_outcome", "abandoned", {"Khách gác máy", "Abandoned"}},
    {"call_outcome", "voicemail", {"Hộp thư thoại", "Voicemail"}},

    {"outbound_kind", "reply", {"Trả lời", "Reply"}},
    {"outbound_kind", "acknowledgement", {"Xác nhận đã nhận", "Acknowledgement"}},
    {"outbound_kind", "survey", {"Khảo sát", "Survey"}},

    {"agent_role", "agent", {"Nhân viên", "Agent"}},
    {"agent_role", "lead", {"Trưởng nhóm", "Team lead"}},
    {"agent_role", "supervisor", {"Giám sát", "Supervisor"}},
};

const char *label_get(const ProtobufCEnumDescriptor *d, int value, enum label_lang lang)
{
    const char *name = vocab_name(d, value);
    if (!name[0] || lang < 0 || lang >= LABEL_NLANGS)
        return NULL;
    const char *key = vocab_enum_key(d);
    for (size_t i = 0; i < sizeof label_table / sizeof label_table[0]; i++)
        if (strcmp(label_table[i].name, name) == 0 && strcmp(label_table[i].enum_key, key) == 0)
            return label_table[i].text[lang];
    return NULL;
}

const char *label_or_name(const ProtobufCEnumDescriptor *d, int value, enum label_lang lang)
{
    const char *l = label_get(d, value, lang);
    return l && l[0] ? l : vocab_name(d, value);
}

size_t label_table_size(void)
{
    return sizeof label_table / sizeof label_table[0];
}
