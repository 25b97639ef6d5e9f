/**
 * English: the reference catalog. Its keys are the keys of every other language, so adding a
 * key here makes each translation fail to compile until it is translated.
 *
 * Style for every language: short sentences and everyday words. Borrowers read these on a
 * locked phone, often with low literacy, sometimes in a second language. Never threaten, never
 * promise what the platform does not guarantee. `notify.*` texts go out as SMS: keep the English
 * at or under 160 characters with realistic values (a test checks).
 */
export const en = {
  // Lock screen and device notices (the device agent renders these offline).
  'lock.title': 'This phone is locked',
  'lock.reason': 'A payment is overdue: {amount} has been due since {date}.',
  'lock.howToPay': 'Pay the amount due the usual way. The phone unlocks by itself soon after your payment arrives.',
  'lock.contact': 'Questions? Call {lender} on {phone}.',
  'lock.reference': 'Lock reference: {reference}',
  'lock.emergency': 'Emergency calls always work.',
  'lock.emergencyButton': 'Emergency call',
  'lock.callLender': 'Call {lender}',
  'lock.enterCode': 'Enter unlock code',
  'lock.submitCode': 'Unlock',
  'lock.codeAccepted': 'Code accepted. Unlocking…',
  'lock.codeRejected': 'That code did not work. Check it and try again.',
  'lock.codeBackoff': 'Too many wrong codes. Try again in {duration}.',
  'lock.resetNote': 'A factory reset does not remove the lock. It comes back when the phone connects to the internet.',
  'lock.restricted.title': 'Some features are blocked',
  'lock.restricted.body': 'A payment is overdue, so some apps are blocked. Calls to emergency services and to your lender still work. Pay to get full use back.',
  'lock.notice.title': 'Pay now to avoid a lock',
  'lock.notice.body': '{amount} is overdue. Pay it by {deadline} or this phone will be locked.',
  'lock.reminder.title': 'Payment reminder',
  'lock.reminder.body': '{amount} is due on {dueDate}. Pay on time to keep using your phone.',
  'lock.released.title': 'Your phone is paid off',
  'lock.released.body': 'Thank you. All payments are done and the lock is removed for good.',
  'lock.creditUntil': 'Unlocked until {date}.',

  // SMS. {reference} is the lock reference, or the claim number for notify.claim*.
  'notify.reminder': '{lender}: {amount} is due on {date}. Pay on time to keep full use of your phone. Ref {reference}',
  'notify.notice': '{lender}: {amount} is overdue. Pay by {date} or your phone will be locked. Emergency calls still work. Ref {reference}',
  'notify.lock': '{lender}: your phone is locked because {amount} is overdue. Pay to unlock it. Emergency calls still work. Ref {reference}',
  'notify.unlock': '{lender}: we received {amount}. Your phone is unlocked. Thank you. Ref {reference}',
  'notify.release': '{lender}: your phone is fully paid. The lock is removed for good. Thank you!',
  'notify.claimReceived': '{lender}: we received your payment claim {reference}. We will check it and send you the result.',
  'notify.claimApproved': '{lender}: payment claim {reference} is approved. {amount} was added to your account.',
  'notify.claimRejected': '{lender}: payment claim {reference} was not accepted. Reason: {message}',
  'notify.unlockClaim': '{lender}: we are checking your payment claim. Your phone is unlocked meanwhile; it may lock again if the claim is refused. Ref {reference}',
  'notify.unlockDispute': '{lender}: your phone is unlocked while we look into your complaint. Ref {reference}',
  'notify.unlockManual': '{lender}: we have unlocked your phone. Ref {reference}',
  'notify.unlockCode': '{lender}: your phone was unlocked with a code and the lock is removed for good. Ref {reference}',
  'notify.unlockOther': '{lender}: your phone is unlocked. Ref {reference}',
  'notify.claimRejectedLocked': '{lender}: claim {reference} refused: {message} Your phone is locked again until {amount} is paid.',

  // Help portal: shared parts.
  'portal.siteTitle': 'Phone payment help',
  'portal.nav.home': 'Home',
  'portal.nav.lookup': 'My phone is locked',
  'portal.nav.claim': 'I have paid',
  'portal.nav.lienCheck': 'Check a phone',
  'portal.language': 'Language',
  'portal.back': 'Back',
  'portal.footer': 'Free help for phones bought on credit. Emergency calls always work. We never ask for your PIN or password.',

  // Home: three choices.
  'portal.home.title': 'How can we help?',
  'portal.home.intro': 'Choose what you need.',
  'portal.home.locked': 'My phone is locked',
  'portal.home.lockedHelp': 'See who to pay, how much, and how to unlock it.',
  'portal.home.paid': 'I have paid',
  'portal.home.paidHelp': 'Paid, but the phone is still locked? Send us the payment details.',
  'portal.home.check': 'Check a phone before buying',
  'portal.home.checkHelp': 'Find out if a used phone still has unpaid credit on it.',

  // Lookup form.
  'portal.lookup.title': 'Find your phone',
  'portal.lookup.intro': 'Enter the lock reference shown on the lock screen. Adding the IMEI is optional.',
  'portal.lookup.idLabel': 'IMEI (optional)',
  'portal.lookup.idHelp': 'Dial *#06# or look on the phone box. You can leave it empty.',
  'portal.lookup.codeLabel': 'Lock reference',
  'portal.lookup.codeHelp': 'The 8 letters and digits on the lock screen. It keeps your details private.',
  'portal.lookup.submit': 'Look up',

  // Lookup result.
  'portal.result.title': 'Your phone',
  'portal.result.status': 'Status',
  'portal.result.lender': 'Lender',
  'portal.result.supportPhone': 'Support phone',
  'portal.result.supportHours': 'Support hours',
  'portal.result.amountDue': 'Amount due',
  'portal.result.dueBy': 'Due by',
  'portal.result.howToPay': 'How to pay',
  'portal.result.afterPay': 'After you pay, the phone unlocks by itself once it is connected to the internet. If it stays locked, choose "I have paid".',
  'portal.result.stillWorks': 'What still works on the phone',
  'portal.result.worksEmergency': 'Emergency calls',
  'portal.result.worksLender': 'Calls to {lender} on {phone}',
  'portal.result.worksCharging': 'Charging',
  'portal.result.resetTitle': 'Will a factory reset remove the lock?',
  'portal.result.resetBody': 'No. A factory reset deletes your photos, messages and apps, but the lock stays. It comes back as soon as the phone connects to the internet. Paying is the only way to unlock it.',
  'portal.stage.current': 'Payments are up to date',
  'portal.stage.reminder': 'A payment is due soon',
  'portal.stage.notice': 'Payment overdue: the phone may be locked',
  'portal.stage.restricted': 'Payment overdue: some features are blocked',
  'portal.stage.locked': 'Locked: payment overdue',
  'portal.stage.released': 'Paid off: the lock is removed',

  // Payment claim form.
  'portal.claim.title': 'Tell us about your payment',
  'portal.claim.intro': 'Paid, but the phone is still locked? Send us the payment details and we will check them.',
  'portal.claim.transactionId': 'Transaction ID',
  'portal.claim.transactionIdHelp': 'The code in the message that confirmed your payment.',
  'portal.claim.amount': 'Amount paid',
  'portal.claim.datePaid': 'Date paid',
  'portal.claim.channel': 'How you paid',
  'portal.claim.channel.mobileMoney': 'Mobile money',
  'portal.claim.channel.bank': 'Bank transfer',
  'portal.claim.channel.agent': 'Cash at a shop or agent',
  'portal.claim.channel.other': 'Other',
  'portal.claim.receipt': 'Photo of the receipt (optional)',
  'portal.claim.receiptHelp': 'A photo or screenshot, up to 5 MB.',
  'portal.claim.submit': 'Send',
  'portal.claim.error.required': 'Please fill in this field.',
  'portal.claim.error.transactionId': 'Enter the transaction ID from your payment message.',
  'portal.claim.error.amount': 'Enter the amount in numbers, for example 1500 or 1500.50.',
  'portal.claim.error.date': 'Enter the date you paid. It cannot be in the future.',
  'portal.claim.error.receiptTooLarge': 'The photo is bigger than 5 MB. Send a smaller photo or a screenshot.',
  'portal.claim.error.receiptType': 'The receipt must be a photo (JPEG, PNG or WebP) or a PDF.',

  // Claim submitted and claim status.
  'portal.claimSubmitted.title': 'We received your payment details',
  'portal.claimSubmitted.body': 'Your claim number is {claimNumber}. Write it down. We will check the payment and send you an SMS.',
  'portal.claimStatus.title': 'Claim status',
  'portal.claimStatus.numberLabel': 'Claim number',
  'portal.claimStatus.submit': 'Check',
  'portal.claimStatus.open': 'We are still checking this payment.',
  'portal.claimStatus.approved': 'Approved. The payment was added to your account.',
  'portal.claimStatus.rejected': 'Not accepted. Reason: {message}',
  'portal.claimStatus.help': 'If you think this is wrong, call {lender} on {phone}.',

  // Lien check for second-hand buyers.
  'portal.lien.title': 'Check a phone before buying',
  'portal.lien.intro': 'Enter the IMEI of the phone. To see it, dial *#06# on the phone.',
  'portal.lien.imeiLabel': 'IMEI',
  'portal.lien.submit': 'Check',
  'portal.lien.result.lien': 'This phone carries a lien',
  'portal.lien.result.lienHelp': 'It was sold on credit that is not paid off yet. It can be locked if payments stop. Ask the seller to pay it off first.',
  'portal.lien.result.none': 'No lien recorded for this phone',
  'portal.lien.result.noneHelp': 'We have no unpaid credit on record for this IMEI. Lenders that do not use this service are not included.',
  'portal.lien.result.released': 'This phone was paid off and released',
  'portal.lien.result.releasedHelp': 'The credit was paid in full and the lock is removed for good.',

  // Errors. Not found and wrong reference code share one message so nobody can probe for IMEIs.
  'portal.error.rateLimited': 'Too many lookups from your connection. Try again in {minutes} minutes.',
  'portal.error.notFound': 'We could not find a phone with these details. Check them and try again.',
  'portal.error.invalidImei': 'This is not a valid IMEI. An IMEI has 15 digits. Check it and try again.',
  'portal.error.generic': 'Something went wrong on our side. Please try again later.',
  'portal.error.badField': 'We could not read what you typed in "{field}". Go back, type it again and send the form.',
  'portal.error.unreadable': 'We could not read this form. Go back and send it again, with at most one receipt file.',
  'portal.skip': 'Skip to main content',
  'portal.result.reference': 'Lock reference',
  'portal.result.overdueSince': 'Overdue since',
  'portal.result.lockAt': 'The phone may lock from',
  'portal.result.nothingDue': 'Nothing to pay now.',
  'portal.result.claimOpen': 'We are checking a payment you told us about. The phone will not be locked while we check.',
  'portal.result.paid': 'I have paid: send the payment details',
  'portal.claim.reference': 'Lock reference',
  'portal.claim.error.duplicate': 'We are already checking a claim for this transaction ID.',
  'portal.claimSubmitted.statusLink': 'Check the status of your claim',
  'portal.claimStatus.unknown': 'We could not find a claim with this number. Check it and try again.',
  'portal.claimStatus.invalid': 'A claim number looks like C-7K3M9Q2X.',
  'portal.error.rateLimitedTitle': 'Please wait a little',
  'portal.error.invalidReference': 'A lock reference has 8 letters and digits. Check it and try again.',
  'portal.error.formErrors': 'Please correct the marked fields.',

  // Words for formatDuration when the runtime has no Intl unit formatting.
  'duration.second.one': '{n} second',
  'duration.second.other': '{n} seconds',
  'duration.minute.one': '{n} minute',
  'duration.minute.other': '{n} minutes',
  'duration.hour.one': '{n} hour',
  'duration.hour.other': '{n} hours',
  'duration.day.one': '{n} day',
  'duration.day.other': '{n} days',
  'duration.join': '{first} and {second}',
} as const;

export type MessageKey = keyof typeof en;

/** The shape every translation must have: exactly the English keys, each a template string. */
export type Catalog = { readonly [K in MessageKey]: string };
