#!/usr/bin/env bash
# Generate the simulated network's greetings into OUTDIR (asterisk/sandbox runs
# this into the chroot's /usr/share/asterisk/sounds/dialer; the Dockerfile at
# build time; nothing generated is committed). Asterisk plays them as 8 kHz
# mono 16-bit signed linear WAV. Output is repeatable: espeak-ng is
# deterministic and sox's noise uses its fixed seed (-R).
#
# A file is named after the last three digits A B C of the number that plays
# it (asterisk/README.md, "Greeting variants"):
#   human-ABC.wav    C = voice (0, 6, 7, 8, 9), B = phrase, A = condition
#   machine-AB5.wav  B = voicemail text, A = voice, speed and condition
#   prompt-hello.wav, prompt-message.wav: what the dialer plays to a person
#                    (DIALER_ROUTE=playback:dialer/prompt-hello) or leaves on a
#                    machine (DIALER_MACHINE=message:dialer/prompt-message)
# A B = 0 0 is the classic greeting every ordinary number gets
# (human-007.wav: "Алло?" in voice 7; machine-005.wav: the long greeting).
set -euo pipefail

out=${1:?usage: generate.sh OUTDIR}
for tool in espeak-ng sox soxi; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool is not installed" >&2; exit 3; }
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

RATE=(-r 8000 -c 1 -b 16 -e signed-integer)
# Seconds of line sound after the last word in noisy files, so that AMD hears
# the noise (not the dialplan's digital silence) while it waits for the pause.
NOISE_TAIL=8

# speak OUT VOICE WORDS_PER_MINUTE PITCH TEXT: speech at -3 dBFS peak.
speak() {
    espeak-ng -v "$2" -s "$3" -p "$4" -w "$work/raw.wav" "$5"
    sox "$work/raw.wav" "${RATE[@]}" "$1" gain -n -3
}

# noise DB: $work/noise-DB.wav, pink noise whose RMS level is DB dBFS.
noise() {
    local file="$work/noise$1.wav"
    [[ -f $file ]] && return
    sox -R -n "${RATE[@]}" "$work/pink.wav" synth 40 pinknoise
    local rms
    rms=$(sox "$work/pink.wav" -n stats 2>&1 | awk '/^RMS lev dB/ {print $4}')
    sox "$work/pink.wav" "$file" gain "$(awk -v t="$1" -v r="$rms" 'BEGIN {print t - r}')"
}

# compose OUT SPEECH LEAD_S NOISE_DB GAIN_DB: LEAD_S of silence (or noise),
# the speech at GAIN_DB, and with noise NOISE_TAIL seconds of it afterwards.
# NOISE_DB "-" means a clean line.
compose() {
    local target=$1 speech=$2 lead=$3 level=$4 gain=$5
    if [[ $level == - ]]; then
        sox "$speech" "$target" gain "$gain" pad "$lead" 0
        return
    fi
    noise "$level"
    sox "$speech" "$work/padded.wav" gain "$gain" pad "$lead" "$NOISE_TAIL"
    sox -m -v 1 "$work/padded.wav" -v 1 "$work/noise$level.wav" "$target" \
        trim 0 "$(soxi -D "$work/padded.wav")"
}

# --- people: last digit 0, 6, 7, 8, 9 -----------------------------------------
# C -> espeak voice, words per minute, pitch.
declare -A VOICE=([0]="ru 160 50" [6]="ru+f3 170 65" [7]="ru+m3 140 40" [8]="ru+f2 150 70" [9]="ru+m7 180 45")
# B -> percent of the voice's speed, then the phrase ("|" is a 1.2 s pause).
PHRASE=(
    [0]="100 Алло?"
    [1]="100 Да?"
    [2]="100 Слушаю"
    [3]="100 Алло, здравствуйте, слушаю вас"
    [4]="100 Алло?|Алло?"
    [5]="100 Да, слушаю вас"
    [6]="70 Алло?"
    [7]="140 Алло?"
    [8]="100 Здравствуйте!"
    [9]="100 Да, алло, говорите"
)
# A -> seconds of silence before speaking (on top of the dialplan's 0.4 s),
# line noise (dBFS RMS, "-" none), speech gain (dB).
HUMAN_CONDITION=(
    [0]="0 - 0"       # clean
    [1]="0 -50 0"     # faint line hiss
    [2]="0 -42 0"     # background noise: frames average 184, 12 % above Debian's silence_threshold 256
    [3]="0 -38 0"     # loud background (street, car): average 292, 76 % of frames above 256
    [4]="1.5 - 0"     # speaks late
    [5]="3 - 0"       # speaks after Debian's initial_silence (2.5 s)
    [6]="0 - -8"      # quiet speaker / weak line
    [7]="2 -42 0"     # late, in background noise
    [8]="0 -50 -8"    # quiet speaker with hiss
    [9]="4 - 0"       # very late
)

sox -n "${RATE[@]}" "$work/pause.wav" trim 0 1.2
for c in 0 6 7 8 9; do
    read -r voice wpm pitch <<<"${VOICE[$c]}"
    for b in "${!PHRASE[@]}"; do
        read -r percent text <<<"${PHRASE[$b]}"
        [[ $b == 0 && $c == 8 ]] && text="Да, алло?"  # digit 8 always said it so
        parts=()
        IFS='|' read -r -a said <<<"$text"
        for i in "${!said[@]}"; do
            speak "$work/part$i.wav" "$voice" $((wpm * percent / 100)) "$pitch" "${said[$i]}"
            if ((i > 0)); then parts+=("$work/pause.wav"); fi
            parts+=("$work/part$i.wav")
        done
        if ((${#parts[@]} > 1)); then sox "${parts[@]}" "$work/speech.wav"; else cp "${parts[0]}" "$work/speech.wav"; fi
        for a in "${!HUMAN_CONDITION[@]}"; do
            read -r lead level gain <<<"${HUMAN_CONDITION[$a]}"
            compose "$out/human-$a$b$c.wav" "$work/speech.wav" "$lead" "$level" "$gain"
        done
    done
done

# --- answering machines: last digit 5 -----------------------------------------
# B -> the voicemail greeting (all end with a pause and the beep).
GREETING=(
    [0]="Здравствуйте! Вы позвонили Ивану Петрову. Сейчас я не могу ответить на ваш звонок. Пожалуйста, оставьте сообщение после звукового сигнала, и я обязательно вам перезвоню."
    [1]="Абонент не может ответить на ваш звонок. Пожалуйста, оставьте сообщение после звукового сигнала."
    [2]="Здравствуйте. Вы позвонили на автоответчик. Оставьте, пожалуйста, ваше сообщение после сигнала."
    [3]="Абонент сейчас не может ответить. Перезвоните позже или оставьте голосовое сообщение после сигнала."
    [4]="Вас приветствует голосовая почта. Абонент недоступен. Говорите после сигнала."
    [5]="Привет, это Маша. Оставь сообщение."
    [6]="Оставьте сообщение после сигнала."
    [7]="Компания Ромашка, здравствуйте! Все операторы заняты. Ваш звонок очень важен для нас, оставайтесь на линии."
    [8]="Здравствуйте, это Сергей. Сейчас не могу ответить, оставьте сообщение после сигнала."
    [9]="Здравствуйте, вы позвонили Анне. Меня сейчас нет, оставьте сообщение, и я вам перезвоню."
)
# A -> voice, words per minute, pitch, seconds before the greeting, noise, gain.
MACHINE_CONDITION=(
    [0]="ru 165 55 0 - 0"
    [1]="ru+f3 170 65 0 - 0"
    [2]="ru+m3 140 40 0 - 0"
    [3]="ru+f2 190 70 0 - 0"
    [4]="ru+m7 175 45 0 -50 0"
    [5]="ru 165 55 0 -42 0"
    [6]="ru+f3 170 65 0 -38 0"
    [7]="ru+m3 150 40 1.5 - 0"
    [8]="ru+f4 165 60 0 - -8"
    [9]="ru+m1 165 50 1 -42 0"
)
sox -n "${RATE[@]}" "$work/gap.wav" trim 0 0.4
sox -n "${RATE[@]}" "$work/beep.wav" synth 0.5 sine 1000 vol 0.5
for b in "${!GREETING[@]}"; do
    for a in "${!MACHINE_CONDITION[@]}"; do
        read -r voice wpm pitch lead level gain <<<"${MACHINE_CONDITION[$a]}"
        speak "$work/greeting.wav" "$voice" "$wpm" "$pitch" "${GREETING[$b]}"
        sox "$work/greeting.wav" "$work/gap.wav" "$work/beep.wav" "$work/speech.wav"
        compose "$out/machine-$a${b}5.wav" "$work/speech.wav" "$lead" "$level" "$gain"
    done
done

# --- the dialer's own prompts (routing tests and the demo) -----------------------
speak "$out/prompt-hello.wav" ru 165 50 "Здравствуйте! Это автоматический звонок. Ваш заказ готов к выдаче."
speak "$out/prompt-message.wav" ru 165 50 "Здравствуйте! Это сообщение для вас. Ваш заказ готов к выдаче. Спасибо."
