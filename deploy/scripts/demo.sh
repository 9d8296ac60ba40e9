#!/bin/bash
# demo.sh — `make demo`: a morning at the care desk, posted through the public API.
#
# Reads var/env (written by `make run`) and posts ~25 contacts with curl:
# Vietnamese and English, on nine channels, several customers coming back on
# another channel with the same phone or e-mail (omnichannel threading), and
# the usual requests: warranty, complaints, invoices, returns, product advice,
# late orders, locked-out accounts. external_ids carry a run suffix, so every
# demo posts new contacts; re-posting within a run would be deduplicated.
# Exits non-zero, saying why, when the stack is not up or a post fails.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VAR=${CAREBUS_VAR_DIR:-$ROOT/var}
ENV_FILE=$VAR/env

# Character-wise ${var:0:n} on Vietnamese text needs a UTF-8 locale.
if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then export LC_ALL=C.UTF-8; fi

die() {
    echo "demo: $*" >&2
    exit 1
}

[ -r "$ENV_FILE" ] || die "no $ENV_FILE: start the stack first with \`make run\` (in another terminal)"
# shellcheck source=/dev/null
. "$ENV_FILE"
: "${CAREBUS_API_URL:?missing in var/env}" "${CAREBUS_API_KEY:?missing in var/env}"
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

if ! curl -fsS -o /dev/null --max-time 3 "$CAREBUS_API_URL/readyz" 2>/dev/null; then
    die "the stack is not up: $CAREBUS_API_URL/readyz does not answer 200; start it with \`make run\` and wait for \"ready\""
fi

# --- the sample ------------------------------------------------------------------
# channel|name|phone|email|handle|subject|text   (empty fields are left out)
SAMPLE=$(
    cat <<'EOF'
zalo|Nguyễn Thị Lan|0901234567||zalo-uid-1||Tôi cần hỗ trợ bảo hành máy lọc nước mua tháng trước, máy không lên nguồn.
facebook|Trần Văn Minh|0912345678||fb-psid-7731||Hoá đơn tháng 11 bị tính hai lần, nhờ kiểm tra giúp mình.
email|Emily Carter||emily.carter@example.com||Order A-55812|My order is late: it was due last Friday and tracking has not moved since.
chat|Võ Thanh Tùng|0987001122||chat-visitor-51||Tư vấn sản phẩm: laptop cho sinh viên kỹ thuật, ngân sách khoảng 20 triệu.
whatsapp|Daniel Pham|+84903334455||wa-84903334455||urgent: cannot log in to my account since the password reset this morning.
phone|Nguyễn Thị Lan|0901234567||||Gọi lại về bảo hành máy lọc nước: đã nhắn Zalo hôm qua nhưng chưa ai liên hệ.
helpcenter|Lê Thu Hà|0935667788|thuha.le@example.vn||Đổi trả áo khoác|Đổi trả: áo khoác mua online size M hơi chật, muốn đổi sang size L.
sms|Trần Văn Minh|0912345678||||Mã hoá đơn HD-2026-1187, vui lòng hoàn lại phần tiền bị trừ trùng.
store|Lê Thu Hà|0935667788||||Khách mang áo khoác đến cửa hàng Quận 3 để đổi size, nhân viên cần mã đơn.
email|Đặng Mai Anh|0909888777|maianh.dang@congtyabc.vn||Báo giá sỉ|Công ty cần báo giá sỉ 200 bình giữ nhiệt in logo, giao trước 15/12.
zalo|Hoàng Gia Bảo|0977123456||zalo-uid-88||Khiếu nại: nhân viên giao hàng thái độ không tốt và giao trễ 2 ngày.
chat|Sarah Lim||sarah.lim@example.sg|chat-visitor-77||Do you ship to Singapore? I need product details for the X2 air purifier.
phone|Bùi Ngọc Trâm|0966554433||||Không đăng nhập được ứng dụng, báo sai mật khẩu dù đã đổi mật khẩu hai lần.
email|Emily Carter||emily.carter@example.com||Re: Order A-55812|Still nothing. If it does not arrive by Monday I would like a refund.
facebook|Lý Phương Thảo|0944221100||fb-psid-9902||Nồi chiên không dầu bị liệt nút bấm sau 2 tuần, còn bảo hành không ạ?
whatsapp|Kevin Tran|+84911222333||wa-84911222333||I returned the headphones 10 days ago and the refund has still not arrived.
email|Nguyễn Thị Lan|0901234567|lan.nguyen@example.vn||Khiếu nại: chậm xử lý bảo hành|Khiếu nại: đã liên hệ qua Zalo và điện thoại mà 2 ngày chưa có kỹ thuật viên.
sms|Ngô Đức Thắng|0933445566||||Đã nhận hàng, cảm ơn shop. Cho hỏi hoá đơn VAT gửi qua email nào?
helpcenter|Phan Minh Châu||chau.phan@example.vn||Tài khoản bị khoá|Tài khoản bị khoá sau khi nhập sai OTP, cần mở khoá gấp để thanh toán.
chat|Võ Thanh Tùng|0987001122||chat-visitor-51||Mẫu nào có card đồ hoạ rời và bảo hành 24 tháng? Có trả góp 0% không?
store|Trương Quang Vinh|0922113344||||Khách VIP hỏi đổi trả tủ lạnh bị móp khi giao, yêu cầu đổi máy mới.
zalo|Daniel Pham|+84903334455||zalo-uid-440||Still locked out — I also tried from the app, same error "account disabled".
facebook|Hoàng Gia Bảo|0977123456||fb-psid-5510||Chưa ai phản hồi khiếu nại hôm trước trên Zalo, mình rất không hài lòng.
email|Olivia Brown||olivia.brown@example.com||Invoice INV-20931|Could you resend invoice INV-20931 with our company tax code on it?
phone|Nguyễn Thị Lan|0901234567||||Kỹ thuật viên đã đến, máy chạy tốt rồi. Cảm ơn bên mình nhiều.
EOF
)

# Pads to a width in characters (printf's %-Ns counts bytes, and Vietnamese
# letters take two or three).
pad() { # text width
    local t=$1
    [ "${#t}" -le "$2" ] || t="${t:0:$(($2 - 1))}…"
    printf '%s%*s' "$t" $(($2 - ${#t})) ''
}

json_str() { # a JSON string literal
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# Pulls one string member out of a small JSON answer.
json_get() { # json key
    if command -v jq >/dev/null; then
        jq -r --arg k "$2" '.[$k] // empty | tostring' <<<"$1" 2>/dev/null || true
    else
        sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" <<<"$1"
    fi
}

RUN_ID=$(date +%Y%m%d%H%M%S)-$$
N=$(grep -c . <<<"$SAMPLE")
NOW=$(date +%s)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# POSTs one message; retries on 429/503 as told by Retry-After (bounded).
# Prints "status<TAB>body".
post() {
    local body=$1 attempt status wait
    for attempt in 1 2 3 4 5; do
        status=$(curl -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' --max-time 10 \
            -X POST "$CAREBUS_API_URL/v1/messages" \
            -H "Authorization: Bearer $CAREBUS_API_KEY" \
            -H 'Content-Type: application/json' \
            --data-binary "$body" 2>"$TMP/err") || status=000
        case $status in
        429 | 503)
            wait=$(tr -d '\r' <"$TMP/headers" | awk -F': *' 'tolower($1) == "retry-after" { print $2 + 0 }')
            wait=${wait:-1}
            [ "$wait" -le 5 ] || wait=5
            [ "$attempt" -lt 5 ] || break
            sleep "$wait"
            ;;
        *) break ;;
        esac
    done
    if [ "$status" = 000 ]; then
        printf '000\t%s' "$(cat "$TMP/err")"
    else
        printf '%s\t%s' "$status" "$(cat "$TMP/body")"
    fi
}

printf 'Posting %d contacts to %s (run %s)\n\n' "$N" "$CAREBUS_API_URL" "$RUN_ID"
i=0
failed=0
first_event=""
while IFS='|' read -r channel name phone email handle subject text; do
    [ -n "$channel" ] || continue
    i=$((i + 1))
    # Spread over the last two hours, Vietnam time, oldest first.
    occurred=$(TZ='<+07>-7' date -d "@$((NOW - (N - i) * 300))" +%Y-%m-%dT%H:%M:%S%:z)
    customer="\"name\":$(json_str "$name")"
    [ -z "$phone" ] || customer+=",\"phone\":$(json_str "$phone")"
    [ -z "$email" ] || customer+=",\"email\":$(json_str "$email")"
    [ -z "$handle" ] || customer+=",\"handle\":$(json_str "$handle")"
    body="{\"channel\":\"$channel\",\"external_id\":\"demo-$RUN_ID-$i\",\"customer\":{$customer}"
    [ -z "$subject" ] || body+=",\"subject\":$(json_str "$subject")"
    body+=",\"text\":$(json_str "$text"),\"occurred_at\":\"$occurred\"}"

    answer=$(post "$body")
    status=${answer%%$'\t'*}
    reply=${answer#*$'\t'}
    line="  $status $(pad "$channel" 10) $(pad "$name" 18) $(pad "$text" 44)"
    case $status in
    2??)
        event=$(json_get "$reply" event_id)
        seq=$(json_get "$reply" seq)
        [ -n "$first_event" ] || first_event=$event
        printf '%s  event %s seq %s\n' "$line" "$event" "$seq"
        ;;
    *)
        failed=$((failed + 1))
        printf '%s  FAILED: %s\n' "$line" "$reply"
        # Three in a row: the stack is in trouble, not the sample.
        if [ "$failed" -ge 3 ] && [ "$failed" -eq "$i" ]; then
            echo
            die "the first $failed posts failed; giving up (see var/log/channel-ingest.log)"
        fi
        ;;
    esac
done <<<"$SAMPLE"

echo
if [ "$failed" -gt 0 ]; then
    die "$failed of $N posts failed (see above; logs in var/log/channel-ingest.log)"
fi
echo "All $N contacts accepted."

# The router threads the contact into a ticket within moments; show one.
ticket=""
if [ -n "$first_event" ]; then
    for _ in $(seq 20); do
        ev=$(curl -sS --max-time 3 -H "Authorization: Bearer $CAREBUS_API_KEY" \
            "$CAREBUS_API_URL/v1/events/$first_event" 2>/dev/null || true)
        ticket=$(json_get "$ev" ticket_id)
        [ -z "$ticket" ] || break
        sleep 0.5
    done
fi

cat <<EOF

Look around (from another shell in the repository):
  . var/env
  curl -sS -H "Authorization: Bearer \$CAREBUS_API_KEY" "\$CAREBUS_API_URL/v1/events/$first_event"
EOF
if [ -n "$ticket" ]; then
    cat <<EOF
  curl -sS -H "Authorization: Bearer \$CAREBUS_API_KEY" "\$CAREBUS_API_URL/v1/tickets/$ticket"
     (Nguyễn Thị Lan wrote on zalo, phone and email: one customer, one history)
EOF
else
    cat <<EOF
     (once routed, the event shows a "ticket_id"; then GET /v1/tickets/<ticket_id>)
EOF
fi
cat <<EOF
  dashboard: ${CAREBUS_DASHBOARD_URL:-http://127.0.0.1:8084/}
  database:  psql "\$CAREBUS_PG"
EOF
