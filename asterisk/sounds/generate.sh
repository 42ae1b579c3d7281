#!/usr/bin/env bash
# Generate the simulated network's greetings into OUTDIR (asterisk/sandbox runs
# this into the chroot's /usr/share/asterisk/sounds/dialer; nothing generated
# is committed). Asterisk plays them as 8 kHz mono 16-bit signed linear WAV.
#
#   human-<digit>.wav  "Алло?" in a voice per last digit (0, 6, 7, 8, 9)
#   machine-5.wav      a long voicemail greeting and a beep
#
# Extend here (more voices, speeds, noise) and keep the name scheme: the
# dialplan picks the file by the number's last digit.
set -euo pipefail

out=${1:?usage: generate.sh OUTDIR}
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool is not installed" >&2; exit 3; }
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# to_asterisk IN OUT: the format Asterisk's format_wav reads without transcoding.
to_asterisk() {
    sox "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" gain -n -3
}

# say NAME VOICE WORDS_PER_MINUTE PITCH TEXT
say() {
    espeak-ng -v "$2" -s "$3" -p "$4" -w "$work/$1.raw.wav" "$5"
    to_asterisk "$work/$1.raw.wav" "$out/$1.wav"
}

# A person: one short word, then the dialplan keeps the line silent.
say human-0 ru 160 50 "Алло?"
say human-6 ru+f3 170 65 "Алло?"
say human-7 ru+m3 140 40 "Алло?"
say human-8 ru+f2 150 70 "Да, алло?"
say human-9 ru+m7 180 45 "Алло?"

# A machine: a long continuous greeting, then the beep after which it records.
espeak-ng -v ru -s 165 -p 55 -w "$work/greeting.raw.wav" \
    "Здравствуйте! Вы позвонили Ивану Петрову. Сейчас я не могу ответить на ваш звонок. \
Пожалуйста, оставьте сообщение после звукового сигнала, и я обязательно вам перезвоню."
to_asterisk "$work/greeting.raw.wav" "$work/greeting.wav"
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/pause.wav" trim 0 0.4
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/beep.wav" synth 0.5 sine 1000 vol 0.5
sox "$work/greeting.wav" "$work/pause.wav" "$work/beep.wav" "$out/machine-5.wav"
