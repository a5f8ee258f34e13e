#!/usr/bin/perl
# acme-lk1 validator: a keycompat process plugin (protocol 1, plugins/PROTOCOL.md).
#
# Validates acme-lk1 keys as vectors/acme/SCHEMES.md specifies them. Perl 5 core
# modules only. Settings (from the hello): `secret`, the HMAC secret.
#
# Run: perl plugins/perl/acme_lk1_validator.pl   (speaks JSON Lines on stdin/stdout)
use strict;
use warnings;
use JSON::PP ();
use Digest::SHA ();

my $NAME    = 'acme-lk1-perl';
my $VERSION = '1.0.0';
my $FORMAT  = 'acme-lk1';

# ---------------------------------------------------------------- catalog

my @EDITIONS = qw(trial standard professional enterprise);
my %PRODUCT_BY_ID = (17 => 'acme-cad', 18 => 'acme-viewer', 21 => 'acme-sim');
my %ID_BY_PRODUCT = reverse %PRODUCT_BY_ID;
my @FEATURES = qw(export-dwg export-step export-pdf render-gpu scripting plugins-sdk
    cloud-sync collaboration pdm simulation cam sheet-metal electrical piping
    offline-mode priority-support);

# Crockford base32; index = value.
my $ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
my %SYMBOL_VALUE;
@SYMBOL_VALUE{ split //, $ALPHABET } = (0 .. 31);

# ---------------------------------------------------------------- dates
# Pure arithmetic on the proleptic Gregorian calendar: no clock, time zone or locale.

sub days_from_civil {    # (y, m, d) -> days since 1970-01-01
    my ($y, $m, $d) = @_;
    $y -= 1 if $m <= 2;
    my $era = int(($y >= 0 ? $y : $y - 399) / 400);
    my $yoe = $y - $era * 400;
    my $doy = int((153 * ($m + ($m > 2 ? -3 : 9)) + 2) / 5) + $d - 1;
    my $doe = $yoe * 365 + int($yoe / 4) - int($yoe / 100) + $doy;
    return $era * 146097 + $doe - 719468;
}

sub civil_from_days {    # days since 1970-01-01 -> "YYYY-MM-DD"
    my $z = $_[0] + 719468;
    my $era = int(($z >= 0 ? $z : $z - 146096) / 146097);
    my $doe = $z - $era * 146097;
    my $yoe = int(($doe - int($doe / 1460) + int($doe / 36524) - int($doe / 146096)) / 365);
    my $y = $yoe + $era * 400;
    my $doy = $doe - (365 * $yoe + int($yoe / 4) - int($yoe / 100));
    my $mp = int((5 * $doy + 2) / 153);
    my $d = $doy - int((153 * $mp + 2) / 5) + 1;
    my $m = $mp + ($mp < 10 ? 3 : -9);
    $y += 1 if $m <= 2;
    return sprintf('%04d-%02d-%02d', $y, $m, $d);
}

my $EPOCH_2000 = days_from_civil(2000, 1, 1);

sub parse_date {    # "YYYY-MM-DD" -> days since 1970-01-01, or undef
    my ($s) = @_;
    return undef unless defined $s && !ref $s && $s =~ /\A([0-9]{4})-([0-9]{2})-([0-9]{2})\z/;
    my ($y, $m, $d) = ($1 + 0, $2 + 0, $3 + 0);
    return undef if $m < 1 || $m > 12 || $d < 1;
    my @mdays = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31);
    my $leap = ($y % 4 == 0 && $y % 100 != 0) || $y % 400 == 0;
    my $max = $m == 2 && $leap ? 29 : $mdays[$m - 1];
    return undef if $d > $max;
    return days_from_civil($y, $m, $d);
}

# ---------------------------------------------------------------- acme-lk1

package BadArgument { sub new { my ($c, $m) = @_; bless { message => $m }, $c } }

sub bad_argument { die BadArgument->new($_[0]) }

# Returns the answer to one validate item (a hash), or dies.
sub validate_lk1 {
    my ($secret, $item) = @_;
    bad_argument('item is not an object') unless ref $item eq 'HASH';
    my $ctx = $item->{context};
    bad_argument('context is not an object') unless ref $ctx eq 'HASH';

    # Context first, so that a bad request is reported whatever the key.
    my $ctx_product = $ctx->{product};
    bad_argument('context.product is not a string') unless defined $ctx_product && !ref $ctx_product;
    my $version = $ctx->{version};
    bad_argument('context.version is not "MAJOR.MINOR"')
        unless defined $version && !ref $version && $version =~ /\A([0-9]+)\.([0-9]+)\z/;
    my $ctx_major = $1 + 0;
    my $today = parse_date($ctx->{today});
    bad_argument('context.today is not a date "YYYY-MM-DD"') unless defined $today;

    my $key = $item->{key};
    if (!defined $key) {
        # Not valid UTF-8 (key_base64): no non-ASCII byte can survive as a
        # Crockford symbol, so such a key is malformed whatever its bytes.
        return { verdict => 'malformed', reason => 'key is not valid UTF-8' }
            if exists $item->{key_base64};
        bad_argument('item has neither key nor key_base64');
    }
    bad_argument('key is not a string') if ref $key;

    # Normalise: delete space, tab, CR, LF and '-' anywhere; upper-case ASCII
    # letters only; O -> 0, I and L -> 1. Nothing else is folded.
    (my $s = $key) =~ tr/ \t\r\n-//d;
    $s =~ tr/a-z/A-Z/;
    $s =~ tr/OIL/011/;
    if (length($s) != 25) {
        return { verdict => 'malformed', reason => 'not 25 symbols (' . length($s) . ' after normalising)' };
    }
    if ($s !~ /\A[0-9A-HJKMNP-TV-Z]{25}\z/) {
        return { verdict => 'malformed', reason => 'not Crockford base32' };
    }

    # 25 symbols = 125 bits, most significant first: payload (85) | mac (40).
    my $bits = join '', map { sprintf '%05b', $SYMBOL_VALUE{$_} } split //, $s;
    my $payload_bits = substr($bits, 0, 85);
    my $mac_bits     = substr($bits, 85, 40);
    my $payload = pack 'B88', '000' . $payload_bits;    # 11 big-endian bytes
    my $mac     = pack 'B40', $mac_bits;

    my $expected = substr(Digest::SHA::hmac_sha256('ACME-LK1' . $payload, $secret), 0, 5);
    my $diff = 0;
    $diff |= ord(substr($mac, $_, 1)) ^ ord(substr($expected, $_, 1)) for 0 .. 4;    # constant time
    # Not recognised as acme-lk1 until the MAC holds: no `format` (as the builtin answers).
    return { verdict => 'bad_signature', reason => 'MAC does not match' } if $diff;

    my $pos = 0;
    my $field = sub { my $n = shift; my $v = oct('0b' . substr($payload_bits, $pos, $n)); $pos += $n; $v };
    my $ver         = $field->(4);
    my $product_id  = $field->(8);
    my $edition     = $field->(3);
    my $max_major   = $field->(8);
    my $bitmap      = $field->(16);
    my $seats       = $field->(10);
    my $expiry_days = $field->(14);
    my $serial      = $field->(20);
    my $reserved    = $field->(2);

    # An unknown `ver` is not this format: no `format` (as the builtin answers).
    return { verdict => 'unsupported_format', reason => "format version $ver, expected 1" }
        if $ver != 1;
    return { verdict => 'malformed', format => $FORMAT, reason => "reserved bits are $reserved, not 0" }
        if $reserved != 0;
    return { verdict => 'malformed', format => $FORMAT, reason => "edition code $edition is above 3" }
        if $edition > 3;

    # A genuine key for a product id the catalog does not name decodes (and is
    # then the wrong product in every context); its product is written
    # `legacy-id-N`, as the builtin writes it.
    my $key_product = $PRODUCT_BY_ID{$product_id} // "legacy-id-$product_id";

    my $expires = $expiry_days == 0 ? undef : civil_from_days($EPOCH_2000 + $expiry_days);
    my @features = sort map { $FEATURES[$_] } grep { $bitmap & (1 << $_) } 0 .. 15;
    my %decoded = (
        product   => $key_product,
        edition   => $EDITIONS[$edition],
        max_major => 0 + $max_major,
        features  => \@features,
        seats     => $seats == 0 ? undef : 0 + $seats,
        expires   => $expires,
        serial    => 0 + $serial,
        host_id   => undef,    # acme-lk1 keys are never node-locked
    );
    my %answer = (format => $FORMAT, decoded => \%decoded);

    # Context checks, in order; the first that fails is the verdict.
    my $ctx_id = $ID_BY_PRODUCT{$ctx_product};
    if (!defined $ctx_id || !defined $PRODUCT_BY_ID{$product_id} || $ctx_id != $product_id) {
        return { %answer, verdict => 'wrong_product',
                 reason => "key is for $key_product, not $ctx_product" };
    }
    if ($ctx_major > $max_major) {
        return { %answer, verdict => 'version_not_covered',
                 reason => "version $version is above max_major $max_major" };
    }
    if (defined $expires && $today > $EPOCH_2000 + $expiry_days) {
        return { %answer, verdict => 'expired', reason => "expired on $expires" };
    }
    # host_mismatch cannot happen: acme-lk1 carries no node lock.
    return { %answer, verdict => 'valid' };
}

# ---------------------------------------------------------------- JSON in
# JSON::PP decodes strings one character at a time (about 0.5 MB/s): a key of a
# few megabytes would outlast keycompat's 5 s per item. Requests are therefore
# read by this small decoder, which lets the regex engine scan strings; JSON::PP
# still writes every answer.

my $MAX_DEPTH = 512;

sub json_fail { die "invalid JSON at offset $_[1]: $_[0]\n" }

sub json_decode_line {    # one line of UTF-8 bytes -> a Perl value
    my ($bytes) = @_;
    my $s = $bytes;
    utf8::decode($s) or die "the line is not valid UTF-8\n";
    pos($s) = 0;
    $s =~ /\G[ \t\r\n]*/gc;
    my $v = json_value(\$s, 0);
    $s =~ /\G[ \t\r\n]*/gc;
    json_fail('trailing characters', pos($s)) if pos($s) != length($s);
    return $v;
}

sub json_value {
    my ($sr, $depth) = @_;
    json_fail('nested too deeply', pos($$sr)) if $depth > $MAX_DEPTH;
    if ($$sr =~ /\G"/gc) {
        return json_string($sr);
    } elsif ($$sr =~ /\G\{[ \t\r\n]*/gc) {
        my %h;
        return \%h if $$sr =~ /\G\}/gc;
        while (1) {
            json_fail('expected a member name', pos($$sr)) unless $$sr =~ /\G"/gc;
            my $k = json_string($sr);
            json_fail('expected ":"', pos($$sr)) unless $$sr =~ /\G[ \t\r\n]*:[ \t\r\n]*/gc;
            $h{$k} = json_value($sr, $depth + 1);
            $$sr =~ /\G[ \t\r\n]*/gc;
            next if $$sr =~ /\G,[ \t\r\n]*/gc;
            return \%h if $$sr =~ /\G\}/gc;
            json_fail('expected "," or "}"', pos($$sr));
        }
    } elsif ($$sr =~ /\G\[[ \t\r\n]*/gc) {
        my @a;
        return \@a if $$sr =~ /\G\]/gc;
        while (1) {
            push @a, json_value($sr, $depth + 1);
            $$sr =~ /\G[ \t\r\n]*/gc;
            next if $$sr =~ /\G,[ \t\r\n]*/gc;
            return \@a if $$sr =~ /\G\]/gc;
            json_fail('expected "," or "]"', pos($$sr));
        }
    } elsif ($$sr =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/gc) {
        return 0 + $1;
    } elsif ($$sr =~ /\Gtrue/gc) {
        return JSON::PP::true;
    } elsif ($$sr =~ /\Gfalse/gc) {
        return JSON::PP::false;
    } elsif ($$sr =~ /\Gnull/gc) {
        return undef;
    }
    json_fail('expected a value', pos($$sr) // 0);
}

my %JSON_ESCAPE = ('"' => '"', '/' => '/', b => "\b", f => "\f", n => "\n", r => "\r", t => "\t");

sub json_string {    # after the opening quote; leaves pos after the closing one
    my ($sr) = @_;
    my $start = pos($$sr);
    while (1) {
        # Bounded repetition: Perl limits an unbounded (?:...)* to 65534 turns.
        $$sr =~ /\G[^"\\]*+(?:\\.[^"\\]*+){0,30000}/gcs;
        last if $$sr =~ /\G"/gc;
        json_fail('unterminated string', $start) if pos($$sr) >= length($$sr) || $$sr =~ /\G\\\z/gc;
    }
    my $str = substr($$sr, $start, pos($$sr) - 1 - $start);
    json_fail('control character in a string', $start) if $str =~ /[\x00-\x1f]/;
    return $str if index($str, '\\') < 0;

    # Unescape: split at every backslash (a C loop); each piece after the first
    # starts with its escape letter, except that an escaped backslash leaves an
    # empty piece. About a microsecond per escape.
    my @p = split /\\/, $str, -1;
    my $out = shift @p;
    my $n = @p;
    no warnings qw(surrogate);
    for (my $i = 0; $i < $n; $i++) {
        my $piece = $p[$i];
        if ($piece eq '') {    # "\\": the next piece follows it verbatim
            json_fail('invalid escape', $start) if ++$i >= $n;
            $out .= '\\' . $p[$i];
            next;
        }
        my $c = substr($piece, 0, 1);
        if ($c eq 'u') {
            my $h = substr($piece, 1, 4);
            json_fail('invalid \\u escape', $start) unless length($h) == 4 && ($h =~ tr/0-9a-fA-F//) == 4;
            my $cp = hex $h;
            # A UTF-16 surrogate pair, \uD83D\uDE80, is one character.
            if ($cp >= 0xD800 && $cp <= 0xDBFF && length($piece) == 5 && $i + 1 < $n
                && substr($p[$i + 1], 0, 1) eq 'u' && (my $h2 = substr($p[$i + 1], 1, 4)) =~ /\A[dD][c-fC-F][0-9a-fA-F]{2}\z/) {
                $cp = 0x10000 + (($cp - 0xD800) << 10) + (hex($h2) - 0xDC00);
                $piece = $p[++$i];
            }
            $out .= chr($cp) . substr($piece, 5);
        } else {
            my $e = $JSON_ESCAPE{$c} // json_fail('invalid escape', $start);
            $out .= $e . substr($piece, 1);
        }
    }
    return $out;
}

# ---------------------------------------------------------------- protocol

my $json = JSON::PP->new->utf8->canonical;    # one compact line per message

sub send_msg {
    print STDOUT $json->encode($_[0]), "\n";
    STDOUT->flush;
}

sub error_text {
    my ($e) = @_;
    my $t = "$e";
    $t =~ s/\s+\z//;
    return $t;
}

sub main {
    binmode STDIN;
    binmode STDOUT;
    STDOUT->autoflush(1);

    my $line = <STDIN>;
    return 0 unless defined $line;
    my $hello = eval { json_decode_line($line) };
    if (ref $hello ne 'HASH' || ($hello->{type} // '') ne 'hello') {
        send_msg({ type => 'error', message => 'expected a hello message first' });
        return 1;
    }
    my $protocol = $hello->{protocol};
    if (!defined $protocol || ref $protocol || $protocol !~ /\A[0-9]+\z/ || $protocol != 1) {
        my $p = defined $protocol && !ref $protocol ? $protocol : 'unknown';
        send_msg({ type => 'error', message => "protocol $p is not supported; I speak 1" });
        return 1;
    }
    my $settings = ref $hello->{settings} eq 'HASH' ? $hello->{settings} : {};
    my $secret = $settings->{secret};
    if (!defined $secret || ref $secret) {
        send_msg({ type => 'error', message => 'settings: secret: missing' });
        return 1;
    }
    if ($secret eq '') {
        send_msg({ type => 'error', message => 'settings: secret: empty' });
        return 1;
    }
    utf8::encode($secret);    # the HMAC key is the secret's UTF-8 bytes

    send_msg({
        type         => 'ready',
        protocol     => 1,
        name         => $NAME,
        version      => $VERSION,
        capabilities => { generate => JSON::PP::false, validate => JSON::PP::true, formats => [$FORMAT] },
        max_in_flight => 1,
    });

    while (defined($line = <STDIN>)) {
        next if $line =~ /\A\s*\z/;
        my $req = eval { json_decode_line($line) };
        if (ref $req ne 'HASH') {
            my $why = $@ ? error_text($@) : 'not a JSON object';
            send_msg({ type => 'error', message => "cannot read the request: $why" });
            next;
        }
        my $type = $req->{type} // '';
        my $id = $req->{id};
        if ($type eq 'validate') {
            my $items = ref $req->{items} eq 'ARRAY' ? $req->{items} : [];
            my @results;
            for my $item (@$items) {
                my $r = eval { validate_lk1($secret, $item) };
                if (!defined $r) {
                    my $e = $@;
                    $r = ref $e eq 'BadArgument'
                        ? { error => { kind => 'bad_argument', message => $e->{message} } }
                        : { error => { kind => 'internal', message => error_text($e) } };
                }
                push @results, $r;
            }
            send_msg({ type => 'results', id => $id, results => \@results });
        } elsif ($type eq 'generate') {
            my $ents = ref $req->{entitlements} eq 'ARRAY' ? $req->{entitlements} : [];
            send_msg({ type => 'results', id => $id, results => [
                map { { error => { kind => 'unsupported', message => 'this plugin validates only' } } } @$ents ] });
        } else {
            send_msg({ type => 'error', message => "unknown request type \"$type\"" });
        }
    }
    return 0;
}

exit main() unless caller;
1;
