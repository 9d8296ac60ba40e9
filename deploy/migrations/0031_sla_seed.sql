-- The shipped SLA configuration, so that every database has a usable one
-- even where the files are not installed (the container image): a verbatim
-- copy of deploy/config/sla-policies.json, sla-calendars.json and
-- sla-holidays.json. sla-monitor loads the files at start (CAREBUS_SLA_CONFIG_DIR)
-- over this seed; tests/unit/sla-monitor/test_sla.c checks the two are equal.
SELECT sla.load_config(
$policies$
{
  "notes": [
    "One SLA policy per customer segment (regular is required and is the fallback).",
    "Targets per priority, in business time of the policy's calendar: seconds or a duration like \"1h30m\".",
    "first_response: until the first public agent reply; next_response: from each customer message that follows an agent reply until the next reply; resolution: until solved, paused while pending on the customer, restarted by a reopen.",
    "warning_pct: sla.warning is published once this share of a target is used (default 80, 0 disables)."
  ],
  "warning_pct": 80,
  "policies": [
    {
      "id": "vip",
      "segment": "vip",
      "description": "VIP customers: tighter targets, around the clock",
      "calendar": "24x7",
      "targets": {
        "urgent": {"first_response": "15m", "next_response": "30m", "resolution": "4h"},
        "high":   {"first_response": "30m", "next_response": "1h",  "resolution": "8h"},
        "normal": {"first_response": "1h",  "next_response": "2h",  "resolution": "24h"},
        "low":    {"first_response": "2h",  "next_response": "4h",  "resolution": "48h"}
      }
    },
    {
      "id": "wholesale",
      "segment": "wholesale",
      "description": "Wholesale partners: extended care hours",
      "calendar": "vn-extended",
      "targets": {
        "urgent": {"first_response": "30m", "next_response": "1h", "resolution": "8h"},
        "high":   {"first_response": "1h",  "next_response": "2h", "resolution": "16h"},
        "normal": {"first_response": "2h",  "next_response": "4h", "resolution": "28h"},
        "low":    {"first_response": "4h",  "next_response": "8h", "resolution": "56h"}
      }
    },
    {
      "id": "regular",
      "segment": "regular",
      "description": "Every other customer: office hours",
      "calendar": "vn-business",
      "targets": {
        "urgent": {"first_response": "1h", "next_response": "2h",  "resolution": "8h"},
        "high":   {"first_response": "2h", "next_response": "4h",  "resolution": "16h"},
        "normal": {"first_response": "4h", "next_response": "8h",  "resolution": "40h"},
        "low":    {"first_response": "8h", "next_response": "16h", "resolution": "80h"}
      }
    }
  ]
}
$policies$::jsonb,
$calendars$
{
  "notes": [
    "Business-hours calendars. \"hours\" are local wall times per weekday (mon..sun), several spans a day allowed; \"24:00\" ends a day.",
    "\"time_zone\" is a tz database name (default Asia/Ho_Chi_Minh); \"holidays\" lists sets of sla-holidays.json; \"always_open\": true counts every second (24/7)."
  ],
  "calendars": [
    {
      "id": "vn-business",
      "description": "Office hours in Viet Nam: weekdays 08:00-17:30 with a lunch break, Saturday mornings; closed on Vietnamese holidays",
      "time_zone": "Asia/Ho_Chi_Minh",
      "holidays": ["vn"],
      "hours": {
        "mon": ["08:00-12:00", "13:00-17:30"],
        "tue": ["08:00-12:00", "13:00-17:30"],
        "wed": ["08:00-12:00", "13:00-17:30"],
        "thu": ["08:00-12:00", "13:00-17:30"],
        "fri": ["08:00-12:00", "13:00-17:30"],
        "sat": ["08:00-12:00"]
      }
    },
    {
      "id": "vn-extended",
      "description": "Extended care hours, every day 07:00-21:00; closed on Vietnamese holidays",
      "time_zone": "Asia/Ho_Chi_Minh",
      "holidays": ["vn"],
      "hours": {
        "mon": ["07:00-21:00"], "tue": ["07:00-21:00"], "wed": ["07:00-21:00"],
        "thu": ["07:00-21:00"], "fri": ["07:00-21:00"], "sat": ["07:00-21:00"],
        "sun": ["07:00-21:00"]
      }
    },
    {
      "id": "24x7",
      "description": "Around the clock, holidays included",
      "time_zone": "Asia/Ho_Chi_Minh",
      "always_open": true
    },
    {
      "id": "eu-business",
      "description": "Office hours for European customers, weekdays 09:00-17:00 Berlin time",
      "time_zone": "Europe/Berlin",
      "hours": {
        "mon": ["09:00-17:00"], "tue": ["09:00-17:00"], "wed": ["09:00-17:00"],
        "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]
      }
    }
  ]
}
$calendars$::jsonb,
$holidays$
{
  "notes": [
    "Closed dates for the business-hours calendars (sla-calendars.json names the sets they use).",
    "An entry is {\"date\"} or a range {\"from\", \"to\"} (inclusive), with a \"name\".",
    "vn: the Labour Code 2019, art. 112 (1/1; Tet 5 days; Hung Kings 10/3 lunar; 30/4; 1/5; 2/9 and an adjacent day), with compensatory days when a holiday falls on a weekend.",
    "2026: the schedule the Ministry of Home Affairs published (Tet Binh Ngo 14-22/2, 27 Chap to mung 6; National Day 1-2/9). Public-sector swaps compensated by Saturday work (2/1, 31/8) are not included.",
    "2027: provisional (\"provisional\": true) until the government publishes it: Tet Dinh Mui is Saturday 6/2/2027; the dates follow the 2024 schedule, whose Tet also fell on a Saturday.",
    "Vietnam Culture Day (24/11) is not a paid holiday until the Labour Code is amended; add it here once it is."
  ],
  "sets": {
    "vn": [
      {"date": "2026-01-01", "name": "Tết Dương lịch"},
      {"from": "2026-02-14", "to": "2026-02-22", "name": "Tết Nguyên đán Bính Ngọ"},
      {"date": "2026-04-26", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)"},
      {"date": "2026-04-27", "name": "Nghỉ bù Giỗ Tổ Hùng Vương"},
      {"date": "2026-04-30", "name": "Ngày Chiến thắng"},
      {"date": "2026-05-01", "name": "Ngày Quốc tế Lao động"},
      {"from": "2026-09-01", "to": "2026-09-02", "name": "Quốc khánh"},
      {"date": "2027-01-01", "name": "Tết Dương lịch"},
      {"from": "2027-02-04", "to": "2027-02-10", "name": "Tết Nguyên đán Đinh Mùi", "provisional": true},
      {"date": "2027-04-16", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)"},
      {"date": "2027-04-30", "name": "Ngày Chiến thắng"},
      {"date": "2027-05-01", "name": "Ngày Quốc tế Lao động"},
      {"date": "2027-05-03", "name": "Nghỉ bù Ngày Quốc tế Lao động", "provisional": true},
      {"from": "2027-09-02", "to": "2027-09-03", "name": "Quốc khánh", "provisional": true}
    ]
  }
}
$holidays$::jsonb,
'migration 0031_sla_seed.sql');
